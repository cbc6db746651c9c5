#!/usr/bin/env python3
"""Write the fuzzers' seed corpora from STDF files (run by fuzz.sh; stdlib only).

    seeds.py OUT_DIR FILE_OR_DIR...

Writes OUT_DIR/plain (uncompressed seeds: for every target) and OUT_DIR/all (those and
compressed variants: for the targets that read files, where decompression is sniffed), plus
OUT_DIR/stdf.dict (a libFuzzer dictionary of the record codes seen). Seeds are cut at record
boundaries and kept small (libFuzzer is fast on small inputs): each file gives its head, a few
windows of parts (the file's header records, then the records from a PIR on) and its tail
(where the summary records are). OUT_DIR must be outside the repository: seeds of real tester
files are never committed.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import struct
import sys
import zipfile
from pathlib import Path

SEED_MAX = 4 * 1024  # bytes of one seed (libFuzzer is fastest on small inputs)
HEAD_MAX = 1536  # bytes of header records before a window of parts
WINDOWS = 8  # windows of parts per large file
FAR_LE, FAR_BE = b"\x02\x00\x00\x0a", b"\x00\x02\x00\x0a"
PIR = (5, 10)


def decompress(data: bytes) -> list[bytes]:
    """The STDF streams in a file: its members when compressed (by magic bytes)."""
    try:
        if data[:2] == b"\x1f\x8b":
            return [gzip.decompress(data)]
        if data[:3] == b"BZh":
            return [bz2.decompress(data)]
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return [z.read(n) for n in z.namelist() if not n.endswith("/")]
    except (OSError, EOFError, zipfile.BadZipFile, ValueError):
        return []
    if data[:4] in (FAR_LE, FAR_BE):
        return [data]
    return []


def records(b: bytes) -> list[tuple[int, int, int, int]]:
    """(offset, length with header, typ, sub) of each record up to the first damage."""
    out, pos, order = [], 0, None
    while pos + 4 <= len(b):
        h = b[pos : pos + 4]
        if h in (FAR_LE, FAR_BE):
            order = "<" if h[0] == 2 else ">"
        if order is None:
            break
        n = 4 + struct.unpack(order + "H", h[:2])[0]
        if pos + n > len(b):
            break
        out.append((pos, n, h[2], h[3]))
        pos += n
    return out


def take(recs: list[tuple[int, int, int, int]], start: int, budget: int) -> int:
    """End index of the records from `start` that fit in `budget` bytes (at least one)."""
    end, used = start, 0
    while end < len(recs) and (used + recs[end][1] <= budget or end == start):
        used += recs[end][1]
        end += 1
    return end


def cuts(b: bytes) -> list[bytes]:
    """The seeds of one stream: head, windows of parts, tail."""
    recs = records(b)
    if not recs:
        return []
    span = lambda i, j: b[recs[i][0] : recs[j - 1][0] + recs[j - 1][1]]  # noqa: E731
    out = [span(0, take(recs, 0, SEED_MAX))]
    if recs[-1][0] + recs[-1][1] <= SEED_MAX:
        return out
    head_end = take(recs, 0, HEAD_MAX)
    head = span(0, head_end)
    budget = SEED_MAX - len(head)
    pirs = [i for i, r in enumerate(recs) if (r[2], r[3]) == PIR and i >= head_end]
    step = max(1, len(pirs) // WINDOWS)
    for i in pirs[::step][:WINDOWS]:
        out.append(head + span(i, take(recs, i, budget)))
    tail = len(recs)
    used = 0
    while tail > head_end and used + recs[tail - 1][1] <= budget:
        tail -= 1
        used += recs[tail][1]
    if tail < len(recs):
        out.append(head + span(tail, len(recs)))
    return out


def compressed(seed: bytes) -> list[bytes]:
    """gzip (one and two members), bzip2 and zip (one and two members) of a seed."""
    g = gzip.compress(seed, mtime=0)
    out = [g, g + gzip.compress(seed[:64], mtime=0), bz2.compress(seed)]
    for names in (["a.stdf"], ["a.stdf", "b.stdf"]):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n in names:
                z.writestr(n, seed)
        out.append(buf.getvalue())
    return out


def inputs(args: list[str]) -> list[Path]:
    files: list[Path] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            files += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix not in (".md", ".json")
            )
        elif p.is_file():
            files.append(p)
    return files


def save(d: Path, data: bytes) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    codes: set[tuple[int, int]] = set()
    n_plain = n_all = 0
    for f in inputs(sys.argv[2:]):
        for i, stream in enumerate(decompress(f.read_bytes())):
            codes.update((r[2], r[3]) for r in records(stream))
            for j, seed in enumerate(cuts(stream)):
                save(out / "plain", seed)
                save(out / "all", seed)
                n_plain += 1
                if i == 0 and j == 0 and len(seed) <= 2048:
                    for c in compressed(seed):
                        save(out / "all", c)
                        n_all += 1
    lines = [f'"\\x{t:02x}\\x{s:02x}"' for t, s in sorted(codes)]
    (out / "stdf.dict").write_text("\n".join(lines) + "\n")
    print(f"seeds: {n_plain} plain, {n_all} compressed, {len(codes)} record codes -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
