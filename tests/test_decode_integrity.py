"""A damaged REC_LEN in the middle of a real file, through SQL on both routes and through materialize.

`raise` (the default) fails with a StdfFormatError at the damaged record; `warn` keeps every part
before the damage and every part after the resync point, closes the parts open across the damage
incomplete (never with another part's PRR), and reports the skipped bytes in `stdf_warnings`.
The class (many records of many files, every kind of wrong length) is tested in Rust
(rust/stdf-arrow/tests/desync.rs); here: the two cases of the issue, by the user's doors.
Values come from expected/*.json (an independent parser) and from the file's own bytes.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import expected_of, real_file

import stdf_duck
from stdf_duck import StdfFormatError
from stdf_duck.archive import materialize

STS = "STS_001SRAM_8435_-30c_Nov_10_23h05m08s.stdf"
METIS = "test.std"


def _con(route: str) -> Any:
    if route == "native":
        if stdf_duck.extension_path() is None:
            pytest.skip("this build has no native extension")
        c = stdf_duck.connect()
    else:
        c = stdf_duck.install(duckdb.connect())
    assert stdf_duck.route(c) == route
    return c


@pytest.fixture(params=["native", "rewrite"])
def con(request: pytest.FixtureRequest) -> Any:
    c = _con(request.param)
    yield c
    c.close()


def _headers(data: bytes) -> list[tuple[int, int, int, int]]:
    """(offset, REC_LEN, typ, sub) of every record of a little-endian file, walked by hand."""
    out, pos = [], 0
    while pos + 4 <= len(data):
        n, typ, sub = struct.unpack_from("<HBB", data, pos)
        out.append((pos, n, typ, sub))
        pos += 4 + n
    return out


PART_COLS = "head_num, site_num, part_id, hard_bin, soft_bin, passed, complete, n_results"


def test_the_corrupt_real_file_fails_at_the_pmr_and_resyncs_at_2168(con: Any) -> None:
    path = real_file(STS)
    exp = expected_of(STS)
    with pytest.raises(StdfFormatError) as ei:
        con.sql(f"SELECT count(*) FROM stdf_records('{path}')").fetchall()
    assert ei.value.offset == 2152 and ei.value.path == str(path), ei.value
    assert "PMR at byte 2152" in str(ei.value)
    rows = con.sql(
        f"SELECT byte_offset, rec_name FROM stdf_records('{path}', on_error := 'warn') ORDER BY byte_offset"
    ).fetchall()
    before = [r for r in rows if r[0] < 2152]
    after = [r for r in rows if r[0] >= 2152]
    # before the damage: what the independent parser read there (its PMRs less the damaged one; it
    # then walked the garbage as T0_0 / T14_115 records, which must not appear)
    want = {k: v for k, v in exp["record_counts"].items() if not k.startswith("T")}
    want["PMR"] -= 1
    got: dict[str, int] = {}
    for _, name in before:
        got[name] = got.get(name, 0) + 1
    assert got == want
    assert after[0] == (2168, "FTR") and after[-1][1] == "MRR"
    assert len(after) == 188  # MANIFEST: the resync at 2168 parses 188 records cleanly to the MRR
    w = con.sql(
        f"SELECT code, byte_offset, message FROM stdf_warnings('{path}', on_error := 'warn') WHERE code = 'desync'"
    ).fetchall()
    assert len(w) == 1 and w[0][1] == 2152 and "bytes 2152..2168 skipped (16 bytes)" in w[0][2], w
    files = con.sql(f"SELECT complete FROM stdf_files('{path}', on_error := 'warn')").fetchall()
    assert files == [(False,)]


def _damaged_metis(tmp_path: Path) -> tuple[Path, Path, int, int]:
    """Metis/test.std with the REC_LEN of its middle 50-byte PTR changed to 49 (the issue's case):
    (clean path, damaged path, offset of the damaged PTR, offset of the record after it)."""
    src = real_file(METIS)
    data = bytearray(src.read_bytes())
    hs = _headers(bytes(data))
    assert hs[-1][2:] == (1, 20) and hs[-1][0] + 4 + hs[-1][1] == len(data)  # walks to the MRR
    ptrs = [i for i, h in enumerate(hs) if h[2:] == (15, 10) and h[1] == 50]
    i = ptrs[len(ptrs) // 2]
    at, nxt = hs[i][0], hs[i + 1][0]
    struct.pack_into("<H", data, at, 49)
    bad = tmp_path / "test.std"
    bad.write_bytes(bytes(data))
    return src, bad, at, nxt


def test_a_ptr_rec_len_off_by_one_in_a_credence_file(con: Any, tmp_path: Path) -> None:
    src, bad, at, nxt = _damaged_metis(tmp_path)
    exp = expected_of(METIS)
    with pytest.raises(StdfFormatError) as ei:
        con.sql(f"SELECT count(*) FROM stdf_results('{bad}')").fetchall()
    assert ei.value.offset == at, ei.value
    # warn: one result lost (the damaged PTR), none invented, none moved to another part
    n = con.sql(f"SELECT count(*) FROM stdf_results('{bad}', on_error := 'warn')").fetchall()[0][0]
    assert n == exp["ptr"]["count"] - 1 == 571
    clean = con.sql(
        f"SELECT part_index, {PART_COLS}, pir_record_index FROM stdf_parts('{src}') ORDER BY part_index"
    ).fetchall()
    assert len(clean) == exp["parts"] == 22
    spans = dict(
        con.sql(
            f"SELECT p.part_index, [min(r.byte_offset), max(r.byte_offset)] FROM stdf_parts('{src}') p "
            f"JOIN stdf_records('{src}') r USING (part_index) GROUP BY ALL"
        ).fetchall()
    )
    got = con.sql(f"SELECT {PART_COLS} FROM stdf_parts('{bad}', on_error := 'warn') ORDER BY part_index").fetchall()
    entirely_before = [p[1:9] for p in clean if spans[p[0]][1] < at]
    entirely_after = [p[1:9] for p in clean if spans[p[0]][0] >= nxt]
    straddling = [p for p in clean if spans[p[0]][0] < at <= spans[p[0]][1]]
    assert got[: len(entirely_before)] == entirely_before
    assert got[len(got) - len(entirely_after) :] == entirely_after
    assert straddling and len(entirely_before) + len(entirely_after) + len(straddling) == 22
    middle = got[len(entirely_before) : len(got) - len(entirely_after)]
    # the parts open at the damage: closed incomplete, without a bin or pass/fail
    opened = middle[: len(straddling)]
    assert all(p[3] is None and p[5] is None and p[6] is False for p in opened), middle
    # their PRRs after the resync close parts of their own (no PIR), never an older part
    assert sum(p[7] for p in middle) == sum(p[8] for p in straddling) - 1
    w = con.sql(f"SELECT code, byte_offset, message FROM stdf_warnings('{bad}', on_error := 'warn')").fetchall()
    desync = [x for x in w if x[0] == "desync"]
    assert len(desync) == 1 and desync[0][1] == at and f"bytes {at}..{nxt} skipped" in desync[0][2], w
    assert sum(1 for x in w if x[0] == "part_without_prr") == len(straddling)


def test_materialize_records_the_damaged_file_partial(tmp_path: Path) -> None:
    src, bad, at, _ = _damaged_metis(tmp_path)
    root = tmp_path / "arch"
    rep = materialize([str(bad)], root, on_error="raise", workers=1)
    assert [o.status for o in rep.outcomes] == ["failed"] and str(at) in (rep.outcomes[0].error or "")
    rep = materialize([str(bad)], root, on_error="warn", workers=1, retry_failed=True)
    assert [o.status for o in rep.outcomes] == ["partial"]
    with duckdb.connect(str(root / "archive.duckdb"), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM results").fetchone()[0] == 571
        assert c.execute("SELECT status FROM ingest").fetchall() == [("partial",)]
        codes = {r[0] for r in c.execute("SELECT code FROM warnings").fetchall()}
        assert "desync" in codes
