"""Damaged and multi-member compressed files, built here from the real files of ../shared/data/stdf.

A compressed file damaged anywhere (cut short while being copied, a damaged member, garbage
appended) keeps, under on_error='warn', every part closed before the damage, equal to the same
part of the undamaged file; the damage is in stdf_warnings at its offset in the decompressed stream,
and on_error='raise' raises a StdfError naming the file and that offset. Zero padding after a gzip
member is no damage; garbage after the last member loses nothing (a warning). A zip holding several
STDF files is read member after member.

Where the damage is comes from the standard library's decompressors (the bytes they give for the
damaged data); what the undamaged file holds is checked against expected/*.json.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import expected_of, real_file

import stdf_duck
from stdf_duck.archive import materialize

try:
    import zstandard
except ImportError:  # pragma: no cover - a dev dependency
    zstandard = None

PART_KEYS = ["part_index", "head_num", "site_num", "part_id", "x_coord", "y_coord", "hard_bin", "soft_bin", "passed"]
RESULT_KEYS = ["part_index", "rec_type", "test_num", "element_index", "result", "test_flg"]


def rows(tbl: str, path: Path, on_error: str = "warn", **kw: Any) -> list[dict[str, Any]]:
    return stdf_duck.read(tbl, path, on_error=on_error, **kw).to_arrow().to_pylist()  # type: ignore[arg-type]


def project(rs: list[dict[str, Any]], keys: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in rs]


def gunzip_prefix(data: bytes) -> bytes:
    """What zlib gives for (possibly damaged) gzip members, up to the damage."""
    out, rest = b"", data
    while rest[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(rest)
        except zlib.error:
            return out
        if not d.eof:
            return out
        rest = d.unused_data
    return out


def bunzip_prefix(data: bytes) -> bytes:
    d = bz2.BZ2Decompressor()
    try:
        return d.decompress(data)
    except (OSError, EOFError):
        return b""


class Clean:
    """One undamaged real file decoded by stdf_duck, checked against expected/*.json."""

    def __init__(self, name: str) -> None:
        self.path = real_file(name)
        exp = expected_of(name)
        self.parts = rows("parts", self.path, "raise")
        self.results = rows("results", self.path, "raise")
        recs = rows("records", self.path, "raise")
        assert len(self.parts) == exp["parts"] and len(recs) == exp["records_total"]
        # end offset of each part's PRR, in the decompressed stream
        prr = [r["byte_offset"] + 4 + r["rec_len"] for r in recs if r["rec_name"] == "PRR"]
        assert len(prr) == len(self.parts)
        self.prr_end = prr
        self.spans = [(r["byte_offset"], r["byte_offset"] + 4 + r["rec_len"]) for r in recs]
        self.stream_size = exp["stream_size"]

    def cut_record(self, good: int) -> int:
        """Offset of the record that the end of `good` decompressed bytes cuts (or `good`)."""
        return next((o for o, e in self.spans if e > good), good)

    def closed_before(self, offset: int) -> int:
        """Parts whose PRR ends at or before `offset` (the file's parts close in order)."""
        return sum(1 for e in self.prr_end if e <= offset)


@pytest.fixture(scope="module")
def lot2() -> Clean:
    return Clean("lot2.stdf.gz")


@pytest.fixture(scope="module")
def lot3() -> Clean:
    return Clean("lot3.stdf.bz2")


def assert_kept_before(clean: Clean, path: Path, good: int, code: str) -> int:
    """warn keeps every part closed before `good` decompressed bytes (and its results) as in the
    undamaged file and reports the damage at the record those bytes cut; raise raises there.
    Returns the number of parts kept."""
    n = clean.closed_before(good)
    at = clean.cut_record(good)
    parts = rows("parts", path)
    done = [p for p in parts if p["complete"]]
    assert project(done, PART_KEYS) == project(clean.parts[:n], PART_KEYS)
    # parts still open at the damage are there, marked incomplete, never closed by another's PRR
    assert all(p["part_index"] >= n for p in parts if not p["complete"])
    res = [r for r in rows("results", path) if r["part_index"] < n]
    assert project(res, RESULT_KEYS) == project([r for r in clean.results if r["part_index"] < n], RESULT_KEYS)
    warns = rows("warnings", path)
    assert [w["code"] for w in warns if w["byte_offset"] == at and str(path) in w["message"]] == [code], warns
    assert any(f"past byte offset {good}: " in w["message"] for w in warns)
    files = rows("files", path)
    assert [f["complete"] for f in files] == [False]
    with pytest.raises(stdf_duck.StdfError) as ei:
        rows("parts", path, "raise")
    assert (ei.value.path, ei.value.offset) == (str(path), at)
    assert ei.value.record is not None
    return n


def test_gzip_cut_short_in_its_first_mib_keeps_the_parts_before(lot2: Clean, tmp_path: Path) -> None:
    gz = lot2.path.read_bytes()
    for cut in (len(gz) // 10, len(gz) // 2, len(gz) - 3):
        p = tmp_path / f"copying_{cut}.stdf.gz"
        p.write_bytes(gz[:cut])
        good = len(gunzip_prefix(gz[:cut]))
        n = assert_kept_before(lot2, p, good, "truncated")
        if cut == len(gz) // 10:
            assert good < 2**20 and n > 100  # the damage is in the first MiB: rows are still kept
        with pytest.raises(stdf_duck.StdfTruncatedError, match="gzip member 1 .*is cut short"):
            rows("parts", p, "raise")
    # the file id of the damaged copy is stable
    p = tmp_path / f"copying_{len(gz) // 10}.stdf.gz"
    assert (
        rows("files", p)[0]["file_id"]
        == rows("files", p)[0]["file_id"]
        != rows("files", lot2.path, "raise")[0]["file_id"]
    )


def test_gzip_padding_and_trailing_garbage(lot2: Clean, tmp_path: Path) -> None:
    gz = lot2.path.read_bytes()
    clean_codes = sorted(w["code"] for w in rows("warnings", lot2.path, "raise"))
    padded = tmp_path / "padded.stdf.gz"
    padded.write_bytes(gz + bytes(4096))
    assert gzip.decompress(gz + bytes(4096)) == gzip.decompress(gz)  # zero padding is valid gzip
    assert project(rows("parts", padded, "raise"), PART_KEYS) == project(lot2.parts, PART_KEYS)
    assert sorted(w["code"] for w in rows("warnings", padded, "raise")) == clean_codes
    junk = tmp_path / "junk.stdf.gz"
    junk.write_bytes(gz + b"\r\n-- appended by a mail client --\r\n")
    for mode in ("raise", "warn"):
        assert project(rows("parts", junk, mode), PART_KEYS) == project(lot2.parts, PART_KEYS)
        assert len(rows("results", junk, mode)) == len(lot2.results)
        g = [w for w in rows("warnings", junk, mode) if w["code"] == "trailing_garbage"]
        assert [(w["byte_offset"], w["message"][:48]) for w in g] == [
            (lot2.stream_size, "35 byte(s) after the last gzip member (from comp")
        ]
    assert rows("files", junk)[0]["complete"] is True


def test_gzip_second_member_damaged(lot2: Clean, tmp_path: Path) -> None:
    plain = gzip.decompress(lot2.path.read_bytes())
    a = 1_500_007  # inside a record
    m1, m2 = gzip.compress(plain[:a]), gzip.compress(plain[a:])
    p = tmp_path / "two.stdf.gz"
    p.write_bytes(m1 + m2[: len(m2) // 3])
    good = len(gunzip_prefix(m1 + m2[: len(m2) // 3]))
    assert a < good < len(plain)
    assert_kept_before(lot2, p, good, "truncated")


def test_bzip2_cut_short_at_its_end(lot3: Clean, tmp_path: Path) -> None:
    bz = lot3.path.read_bytes()
    for cut, whole in ((len(bz) - 1, True), (len(bz) // 2, False)):
        p = tmp_path / f"cut_{cut}.stdf.bz2"
        p.write_bytes(bz[:cut])
        good = len(bunzip_prefix(bz[:cut]))
        assert (good == lot3.stream_size) is whole
        n = assert_kept_before(lot3, p, good, "truncated")
        assert (n == len(lot3.parts)) is whole


@pytest.mark.skipif(zstandard is None, reason="zstandard is not installed")
def test_zstd_frames_cut_short(lot2: Clean, tmp_path: Path) -> None:
    plain = gzip.decompress(lot2.path.read_bytes())
    c = zstandard.ZstdCompressor()
    a = 2_000_003
    data = c.compress(plain[:a]) + c.compress(plain[a:])
    whole = tmp_path / "frames.stdf.zst"
    whole.write_bytes(data)
    assert project(rows("parts", whole, "raise"), PART_KEYS) == project(lot2.parts, PART_KEYS)
    cut = tmp_path / "cut.stdf.zst"
    cut.write_bytes(data[: len(data) * 3 // 4])
    dec = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data[: len(data) * 3 // 4]), read_across_frames=True)
    got = bytearray()
    try:
        while chunk := dec.read(1 << 16):
            got += chunk
    except zstandard.ZstdError:
        pass
    assert a < len(got) < len(plain)
    assert_kept_before(lot2, cut, len(got), "truncated")


def test_zip_of_several_stdf_files_reads_every_member(tmp_path: Path) -> None:
    a, b = real_file("test.std"), real_file("d10_1.std")
    p = tmp_path / "lots.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("lots/", "")
        z.write(a, "lots/a.std")
        z.writestr("lots/readme.txt", "two lots")
        z.write(b, "lots/b.std")
    ea, eb = expected_of("test.std"), expected_of("d10_1.std")
    files = rows("files", p, "raise")
    assert [(f["lot_id"], f["n_parts"], f["n_records"]) for f in files] == [
        (ea["mir"]["LOT_ID"], ea["parts"], ea["records_total"]),
        (eb["mir"]["LOT_ID"], eb["parts"], eb["records_total"]),
    ]
    parts = rows("parts", p, "raise")
    assert project(parts, PART_KEYS[1:]) == project(
        rows("parts", a, "raise") + rows("parts", b, "raise"), PART_KEYS[1:]
    )
    skipped = [w["message"] for w in rows("warnings", p, "raise") if w["code"] == "zip_member_skipped"]
    assert skipped == ["zip member 'lots/readme.txt' is not STDF (it does not start with a FAR): skipped"]
    only_text = tmp_path / "text.zip"
    with zipfile.ZipFile(only_text, "w") as z:
        z.writestr("readme.txt", "no data")
    with pytest.raises(stdf_duck.StdfFormatError, match="holds no STDF member"):
        rows("parts", only_text, "raise")


def test_zip_cut_short_keeps_the_parts_before(lot3: Clean, tmp_path: Path) -> None:
    zp = real_file("lot3.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(zp)) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    cut = start + info.compress_size // 3
    p = tmp_path / "copying.zip"
    p.write_bytes(zp[:cut])
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    good = len(d.decompress(zp[start:cut]))
    assert_kept_before(lot3, p, good, "truncated")


def test_materialize_warn_keeps_the_rows_before_the_damage(lot2: Clean, tmp_path: Path) -> None:
    import duckdb

    gz = lot2.path.read_bytes()
    cut = len(gz) // 10
    src = tmp_path / "in"
    src.mkdir()
    p = src / "copying.stdf.gz"
    p.write_bytes(gz[:cut])
    n = lot2.closed_before(len(gunzip_prefix(gz[:cut])))
    root = tmp_path / "arch"
    report = materialize([str(p)], root, workers=1, on_error="warn")
    assert [o.status for o in report.outcomes if o.status == "failed"] == []
    con = duckdb.connect(str(root / "archive.duckdb"), read_only=True)
    try:
        done = con.execute(
            "SELECT part_index, hard_bin, soft_bin FROM parts WHERE complete ORDER BY part_index"
        ).fetchall()
        assert done == [(r["part_index"], r["hard_bin"], r["soft_bin"]) for r in lot2.parts[:n]]
        got = con.execute("SELECT count(*) FROM results WHERE part_index < ?", [n]).fetchone()
        assert got == (sum(1 for r in lot2.results if r["part_index"] < n),)
    finally:
        con.close()
