#!/usr/bin/env python3
"""A big STDF file made from a real one: its part blocks (first PIR .. last PRR) repeated.

    .venv/bin/python bench/grow.py SRC.stdf OUT.stdf --size-mb 100

The header (FAR, MIR, ..., WIR) and the trailer (WRR, TSR, HBR, SBR, PCR, MRR) are kept once;
the records between the first PIR and the last PRR are written again and again until the file
reaches the size (MiB). The result reads as the tester wrote it, only with more parts, so that
benchmarks measure the decoder and the writers on a real tester's record mix (its tests, limits,
text fields, MPR pins), not on stdf-gen's.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import zipfile
from pathlib import Path


def raw_bytes(src: Path) -> bytes:
    name = src.name.lower()
    if name.endswith(".gz"):
        return gzip.decompress(src.read_bytes())
    if name.endswith(".bz2"):
        return bz2.decompress(src.read_bytes())
    if name.endswith(".zip"):
        with zipfile.ZipFile(src) as z:
            return z.read(z.namelist()[0])
    return src.read_bytes()


def records(data: bytes) -> list[tuple[int, int, int, int]]:
    """(start, end, rec_typ, rec_sub) of every record."""
    big = data[4] == 1  # FAR.CPU_TYPE: 1 big-endian, 2 little-endian
    out, at = [], 0
    while at + 4 <= len(data):
        n = int.from_bytes(data[at : at + 2], "big" if big else "little")
        end = at + 4 + n
        if end > len(data):
            break
        out.append((at, end, data[at + 2], data[at + 3]))
        at = end
    return out


def grow(src: Path, out: Path, size_mb: float, extra: int = 0) -> int:
    """Write `out` (`extra` more copies of the part blocks than the size asks: another file of
    about the same size); returns its size in bytes."""
    data = raw_bytes(src)
    recs = records(data)
    pirs = [r for r in recs if (r[2], r[3]) == (5, 10)]
    prrs = [r for r in recs if (r[2], r[3]) == (5, 20)]
    if not pirs or not prrs:
        raise SystemExit(f"{src}: no PIR/PRR to repeat")
    start, end = pirs[0][0], prrs[-1][1]
    head, body, tail = data[:start], data[start:end], data[end:]
    target = int(size_mb * 1024 * 1024)
    copies = max(1, (target - len(head) - len(tail)) // len(body)) + extra
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(head)
        for _ in range(copies):
            f.write(body)
        f.write(tail)
    tmp.rename(out)
    return out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--size-mb", type=float, default=100.0)
    a = ap.parse_args()
    print(grow(a.src, a.out, a.size_mb))


if __name__ == "__main__":
    main()
