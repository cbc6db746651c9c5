"""The Python API: read() and its options, errors, Arrow consumers, the original entry points.

Expected values come from the independent reference (../shared/data/stdf/expected) or are derived
by hand in the test (a tiny pure-Python record walker below), never from stdf_duck's own output.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, expected_of, query, real_file, scalar

import stdf_duck
from stdf_duck import _native

# small real files: a Credence D-10 file (2 sites, PTR only) and an Advantest one (4 sites, FTR too)
SMALL = "test.std"
OTHER = "sort_4die_20times.stdf"


@pytest.fixture
def small() -> Path:
    return real_file(SMALL)


@pytest.fixture
def other() -> Path:
    return real_file(OTHER)


def walk(data: bytes) -> list[tuple[int, int, int, int]]:
    """Independent record walk: (byte_offset, rec_len, rec_typ, rec_sub) per record header."""
    if data[:4] == b"\x02\x00\x00\x0a":
        fmt = "<H"
    elif data[:4] == b"\x00\x02\x00\x0a":
        fmt = ">H"
    else:
        raise ValueError("not STDF")
    out, off = [], 0
    while off + 4 <= len(data):
        (n,) = struct.unpack(fmt, data[off : off + 2])
        out.append((off, n, data[off + 2], data[off + 3]))
        off += 4 + n
    return out


# ---------------------------------------------------------------------------------------------
# read(): table, columns, tests, paths


def test_tables_listed() -> None:
    names = set(stdf_duck.TABLES)
    assert {"files", "parts", "tests", "results", "bins", "wafers", "records", "warnings"} <= names
    for rec in ["far", "atr", "mir", "mrr", "pir", "prr", "ptr", "mpr", "ftr", "str", "gdr", "dtr", "bps", "eps"]:
        assert rec in names


def test_unknown_table(small: Path) -> None:
    with pytest.raises(ValueError, match="nope"):
        stdf_duck.read("nope", small)


def test_stdf_prefix_accepted(small: Path) -> None:
    assert stdf_duck.read("stdf_parts", small).to_arrow().num_rows == expected_of(SMALL)["parts"]


def test_columns_projection_order(small: Path) -> None:
    cols = ["site_num", "part_index", "hard_bin", "file_id"]
    t = stdf_duck.read("parts", small, columns=cols)
    assert t.columns == cols
    tbl = t.to_arrow()
    assert tbl.column_names == cols
    assert tbl.num_rows == 22
    # D-10 test.std: 11 parts on each of sites 0 and 1, hard bins 2 (12 parts) and 4 (10 parts)
    assert sorted(query("SELECT site_num, count(*) FROM t GROUP BY ALL", t=tbl)) == [(0, 11), (1, 11)]
    assert sorted(query("SELECT hard_bin, count(*) FROM t GROUP BY ALL", t=tbl)) == [(2, 12), (4, 10)]
    # DuckDB sees the projected schema too
    assert [d[0] for d in query("DESCRIBE SELECT * FROM t", t=t)] == cols


def test_unknown_column_names_the_valid_ones(small: Path) -> None:
    with pytest.raises(ValueError) as info:
        stdf_duck.read("parts", small, columns=["part_index", "no_such_column"])
    msg = str(info.value)
    assert "no_such_column" in msg
    for valid in ["file_id", "part_index", "hard_bin", "soft_bin", "site_num"]:
        assert valid in msg


def test_on_error_must_be_raise_or_warn(small: Path) -> None:
    with pytest.raises(ValueError, match="on_error"):
        stdf_duck.read("parts", small, on_error="explode")  # type: ignore[arg-type]


def test_tests_filter(small: Path) -> None:
    exp = expected_of(SMALL)["ptr"]["tests"]
    picked = sorted(exp, key=int)[:3]
    want_n = sum(exp[t]["n"] for t in picked)
    want_sum = math.fsum(exp[t]["sum_result"] for t in picked)
    res = stdf_duck.read("results", small, tests=[int(t) for t in picked]).to_arrow()
    assert res.num_rows == want_n
    assert {str(t) for t in res.column("test_num").to_pylist()} == set(picked)
    assert math.isclose(math.fsum(res.column("result").to_pylist()), want_sum, rel_tol=1e-9)
    raw = stdf_duck.read("ptr", small, tests=[int(picked[0])]).to_arrow()
    assert raw.num_rows == exp[picked[0]]["n"]
    assert stdf_duck.read("results", small, tests=[]).to_arrow().num_rows == 0
    # a test number the file does not have
    assert stdf_duck.read("results", small, tests=[987654321]).to_arrow().num_rows == 0


def test_list_of_paths(small: Path, other: Path) -> None:
    n1, n2 = expected_of(SMALL)["records_total"], expected_of(OTHER)["records_total"]
    t = stdf_duck.read("records", [small, other])
    assert t.paths == [str(small), str(other)]
    assert t.to_arrow().num_rows == n1 + n2
    rows = query("SELECT count(DISTINCT file_id) FROM r", r=t)
    assert rows == [(2,)]
    files = stdf_duck.read("files", [small, other]).to_arrow()
    assert sorted(files.column("lot_id").to_pylist(), key=str) == sorted(
        [expected_of(SMALL)["mir"]["LOT_ID"] or None, expected_of(OTHER)["mir"]["LOT_ID"] or None], key=str
    )


def test_empty_path_list() -> None:
    with pytest.raises(ValueError):
        stdf_duck.read("parts", [])


def test_glob(small: Path, other: Path, tmp_path: Path) -> None:
    shutil.copy(small, tmp_path / "a.stdf")
    shutil.copy(other, tmp_path / "b.stdf")
    (tmp_path / "notes.txt").write_text("not matched by the glob")
    t = stdf_duck.read("parts", str(tmp_path / "*.stdf"))
    assert sorted(Path(p).name for p in t.paths) == ["a.stdf", "b.stdf"]
    assert t.to_arrow().num_rows == expected_of(SMALL)["parts"] + expected_of(OTHER)["parts"]
    # globs inside a list
    t2 = stdf_duck.read("parts", [str(tmp_path / "a.*"), str(tmp_path / "b.*")])
    assert t2.to_arrow().num_rows == expected_of(SMALL)["parts"] + expected_of(OTHER)["parts"]


def test_glob_matching_nothing(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.stdf")
    with pytest.raises(stdf_duck.StdfFileNotFoundError) as info:
        stdf_duck.read("parts", pattern).to_arrow()
    assert isinstance(info.value, OSError)
    assert info.value.path == pattern


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.stdf"
    with pytest.raises(stdf_duck.StdfFileNotFoundError) as info:
        stdf_duck.read("parts", missing).to_arrow()
    e = info.value
    assert isinstance(e, OSError) and isinstance(e, FileNotFoundError)
    assert isinstance(e, stdf_duck.StdfIOError) and isinstance(e, stdf_duck.StdfError)
    assert e.path == str(missing)
    assert str(missing) in str(e)


def test_missing_file_warn_goes_on(small: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.stdf"
    parts = stdf_duck.read("parts", [small, missing], on_error="warn").to_arrow()
    assert parts.num_rows == expected_of(SMALL)["parts"]
    warnings = stdf_duck.read("warnings", [small, missing], on_error="warn").to_arrow().to_pylist()
    assert [w["file_path"] for w in warnings] == [str(missing)]


def test_not_stdf(tmp_path: Path) -> None:
    junk = tmp_path / "random.stdf"
    junk.write_bytes(bytes((i * 37 + 11) % 251 for i in range(4096)))
    with pytest.raises(stdf_duck.StdfFormatError) as info:
        stdf_duck.read("results", junk).to_arrow()
    e = info.value
    assert isinstance(e, ValueError)
    assert not isinstance(e, stdf_duck.StdfTruncatedError)
    assert e.offset == 0
    assert e.path == str(junk)
    assert "random.stdf" in str(e)


def test_not_stdf_text_file(tmp_path: Path) -> None:
    text = tmp_path / "readme.stdf"
    text.write_text("hello, this is not a tester file\n" * 20)
    with pytest.raises(stdf_duck.StdfFormatError) as info:
        stdf_duck.read("records", text).to_arrow()
    assert info.value.offset == 0


def test_empty_file(tmp_path: Path) -> None:
    """A zero-byte file has no FAR: it is not STDF (or is still being written), never a silent 0 rows."""
    empty = tmp_path / "empty.stdf"
    empty.write_bytes(b"")
    for table in ("records", "files", "results"):
        with pytest.raises(stdf_duck.StdfFormatError) as info:
            stdf_duck.read(table, empty).to_arrow()
        assert info.value.path == str(empty)
        assert info.value.offset == 0
    warnings = stdf_duck.read("warnings", empty, on_error="warn").to_arrow().to_pylist()
    assert [w["file_path"] for w in warnings] == [str(empty)]


def _truncated_copy(src: Path, dst: Path, nth: int, into: str) -> tuple[int, int, int]:
    """Cut `src` inside its `nth` record (its header or its body).
    Returns (offset of that record, records before it, PTRs before it)."""
    data = src.read_bytes()
    recs = walk(data)
    off, n, _, _ = recs[nth]
    cut = off + 2 if into == "header" else off + 4 + max(1, n // 2)
    dst.write_bytes(data[:cut])
    n_ptr = sum(1 for r in recs[:nth] if (r[2], r[3]) == (15, 10))
    return off, nth, n_ptr


@pytest.mark.parametrize("into", ["body", "header"])
def test_truncated_copy_raises(small: Path, tmp_path: Path, into: str) -> None:
    cut = tmp_path / "cut.stdf"
    recs = walk(small.read_bytes())
    nth = next(i for i, r in enumerate(recs) if i > 400 and r[1] > 8)
    off, _, _ = _truncated_copy(small, cut, nth, into)
    with pytest.raises(stdf_duck.StdfTruncatedError) as info:
        stdf_duck.read("results", cut).to_arrow()
    e = info.value
    assert isinstance(e, stdf_duck.StdfFormatError)
    assert e.offset == off
    assert e.path == str(cut)
    assert "cut.stdf" in str(e)


def test_truncated_copy_warn_keeps_rows_before_the_cut(small: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.stdf"
    recs = walk(small.read_bytes())
    nth = next(i for i, r in enumerate(recs) if i > 400 and (r[2], r[3]) == (15, 10))
    off, n_before, n_ptr_before = _truncated_copy(small, cut, nth, "body")
    records = stdf_duck.read("records", cut, on_error="warn").to_arrow()
    assert records.num_rows == n_before
    assert scalar("SELECT max(byte_offset) FROM r", r=records) == recs[nth - 1][0]
    ptr = stdf_duck.read("ptr", cut, on_error="warn").to_arrow()
    assert ptr.num_rows == n_ptr_before
    warnings = stdf_duck.read("warnings", cut, on_error="warn").to_arrow().to_pylist()
    damage = [w for w in warnings if w["code"] == "truncated"]
    assert len(damage) == 1
    assert damage[0]["byte_offset"] == off
    assert damage[0]["file_path"] == str(cut)
    files = stdf_duck.read("files", cut, on_error="warn").to_arrow().to_pylist()
    assert files[0]["complete"] is False
    assert files[0]["n_records"] == n_before


def test_truncated_in_glob_warn_goes_on(small: Path, other: Path, tmp_path: Path) -> None:
    recs = walk(small.read_bytes())
    _, n_before, _ = _truncated_copy(small, tmp_path / "a_cut.stdf", 300, "body")
    shutil.copy(other, tmp_path / "b.stdf")
    t = stdf_duck.read("records", str(tmp_path / "*.stdf"), on_error="warn")
    assert t.to_arrow().num_rows == n_before + expected_of(OTHER)["records_total"]
    with pytest.raises(stdf_duck.StdfTruncatedError):
        stdf_duck.read("records", str(tmp_path / "*.stdf")).to_arrow()
    assert len(recs) > 300


# ---------------------------------------------------------------------------------------------
# consumers: DuckDB, pyarrow, polars, pandas


def test_duckdb_register_query_twice(small: Path, con: Any) -> None:
    t = stdf_duck.read("parts", small)
    con.register("parts", t)
    q = "SELECT count(*), count(*) FILTER (NOT passed) FROM parts"
    assert con.execute(q).fetchall() == [(22, 22)]
    assert con.execute(q).fetchall() == [(22, 22)]
    # and the same Python object once more through pyarrow
    assert t.to_arrow().num_rows == 22


def test_duckdb_view_queried_twice(small: Path, con: Any) -> None:
    con.register("results_src", stdf_duck.read("results", small))
    con.execute("CREATE VIEW results AS SELECT * FROM results_src WHERE rec_type = 'PTR'")
    q = "SELECT count(*), count(DISTINCT test_num) FROM results"
    exp = expected_of(SMALL)["ptr"]
    assert con.execute(q).fetchall() == [(exp["count"], exp["n_tests"])]
    assert con.execute(q).fetchall() == [(exp["count"], exp["n_tests"])]


def test_duckdb_join_on_file_id_part_index(small: Path, con: Any) -> None:
    con.register("results", stdf_duck.read("results", small))
    con.register("parts", stdf_duck.read("parts", small))
    rows = con.execute(
        """
        SELECT p.hard_bin, count(*) FROM results r JOIN parts p USING (file_id, part_index)
        WHERE r.rec_type = 'PTR' GROUP BY ALL
        """
    ).fetchall()
    keyed = expected_of(SMALL)["keyed_ptr"]
    want: dict[int, int] = {}
    for key, (n, _) in keyed.items():
        hb = int(key.split("/")[0])
        want[hb] = want.get(hb, 0) + n
    assert dict(rows) == want


def test_arrow_stream_is_reopenable(small: Path) -> None:
    t = stdf_duck.read("records", small)
    n = expected_of(SMALL)["records_total"]
    assert pa.RecordBatchReader.from_stream(t).read_all().num_rows == n
    assert pa.RecordBatchReader.from_stream(t).read_all().num_rows == n
    assert pa.table(t).num_rows == n


def test_arrow_schema_capsule(small: Path) -> None:
    t = stdf_duck.read("parts", small, columns=["part_index", "hard_bin"])
    schema = pa.schema(t)
    assert schema.names == ["part_index", "hard_bin"]
    assert schema.field("part_index").type == pa.uint32()


def test_batch_size(small: Path) -> None:
    batches = list(stdf_duck.read("results", small, batch_size=100))
    assert all(b.num_rows <= 100 for b in batches)
    assert sum(b.num_rows for b in batches) == expected_of(SMALL)["ptr"]["count"]


def test_threads_same_rows(small: Path, other: Path) -> None:
    q = "SELECT file_id, part_index, test_num, result FROM r ORDER BY ALL"
    one = query(q, r=stdf_duck.read("results", [small, other], threads=1))
    two = query(q, r=stdf_duck.read("results", [small, other], threads=2))
    assert one == two
    assert len(one) == scalar("SELECT count(*) FROM r", r=stdf_duck.read("results", [small, other]))


def test_polars(small: Path) -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(stdf_duck.read("parts", small, columns=["site_num", "hard_bin"]))
    assert df.shape == (22, 2)
    counts = dict(df.group_by("hard_bin").len().iter_rows())
    assert counts == {2: 12, 4: 10}
    assert stdf_duck.read("parts", small).to_polars().height == 22


def test_pandas(small: Path) -> None:
    pytest.importorskip("pandas")
    df = stdf_duck.read("parts", small, columns=["site_num"]).to_pandas()
    assert len(df) == 22
    assert sorted(df["site_num"].value_counts().items()) == [(0, 11), (1, 11)]


def test_filename_column(small: Path, other: Path) -> None:
    t = stdf_duck.read("parts", [small, other], filename=True)
    assert t.columns[-1] == "file_path"
    rows = query("SELECT file_path, count(*) FROM p GROUP BY ALL", p=t)
    assert dict(rows) == {str(small): expected_of(SMALL)["parts"], str(other): expected_of(OTHER)["parts"]}
    assert "file_path" not in stdf_duck.read("parts", small).columns


# ---------------------------------------------------------------------------------------------
# compressed copies and file_id


def test_gzip_copy_same_content(small: Path, tmp_path: Path) -> None:
    gz = tmp_path / "copy.stdf.gz"
    gz.write_bytes(gzip.compress(small.read_bytes()))
    f = stdf_duck.read("files", gz).to_arrow().to_pylist()[0]
    plain = stdf_duck.read("files", small).to_arrow().to_pylist()[0]
    assert f["compression"] == "gzip"
    assert f["file_size"] == gz.stat().st_size
    assert f["stream_size"] == small.stat().st_size
    assert f["n_records"] == expected_of(SMALL)["records_total"]
    # content_hash covers the decompressed stream only; file_id also hashes the on-disk size
    assert f["content_hash"] == plain["content_hash"]
    assert f["file_id"] != plain["file_id"]
    assert query("SELECT count(*), sum(result) FROM r", r=stdf_duck.read("results", gz)) == query(
        "SELECT count(*), sum(result) FROM r", r=stdf_duck.read("results", small)
    )
    # compression is sniffed from the content, not the name
    disguised = tmp_path / "plain_looking.stdf"
    shutil.copy(gz, disguised)
    f2 = stdf_duck.read("files", disguised).to_arrow().to_pylist()[0]
    assert (f2["compression"], f2["n_records"]) == ("gzip", expected_of(SMALL)["records_total"])


def test_file_id_stable_and_content_based(small: Path, tmp_path: Path) -> None:
    fid = _native.file_id(str(small))
    assert isinstance(fid, str) and fid
    renamed = tmp_path / "another_name.bin"
    shutil.copy(small, renamed)
    assert _native.file_id(str(renamed)) == fid
    assert stdf_duck.read("files", renamed).to_arrow().column("file_id")[0].as_py() == fid
    # the same id in every table of the file
    assert {x.as_py() for x in stdf_duck.read("parts", small).to_arrow().column("file_id")} == {fid}
    assert {x.as_py() for x in stdf_duck.read("results", small).to_arrow().column("file_id")} == {fid}
    cut = tmp_path / "cut.stdf"
    data = small.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert _native.file_id(str(cut)) != fid


def test_file_id_compressed_variants_agree() -> None:
    bz2, zp = real_file("lot3.stdf.bz2"), real_file("lot3.zip")
    fb, fz = (stdf_duck.read("files", p).to_arrow().to_pylist()[0] for p in (bz2, zp))
    assert (fb["compression"], fz["compression"]) == ("bzip2", "zip")
    assert fb["stream_size"] == fz["stream_size"] == expected_of("lot3.zip")["stream_size"]
    # the same decompressed stream: the same content_hash; file_id hashes the on-disk size too
    assert fb["content_hash"] == fz["content_hash"]
    assert (fb["file_id"], fz["file_id"]) == (_native.file_id(str(bz2)), _native.file_id(str(zp)))


# ---------------------------------------------------------------------------------------------
# the original design's entry points


def test_parse_stdf(small: Path) -> None:
    exp = expected_of(SMALL)
    s = stdf_duck.parse_stdf(small)
    assert s.lot_id == exp["mir"]["LOT_ID"] == "F6N910.1"
    assert s.to_arrow_parts().num_rows == exp["parts"]
    assert s.to_arrow_results().num_rows == exp["ptr"]["count"]
    tests = s.to_arrow_tests()
    # every PTR test (the table also lists tests known only from TSRs)
    assert set(tests.column("test_num").to_pylist()) >= {int(t) for t in exp["ptr"]["tests"]}


def test_parse_to_parquet(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    stats = stdf_duck.parse_to_parquet(small, out, "SPM3F", "FT")
    fid = _native.file_id(str(small))
    lot = expected_of(SMALL)["mir"]["LOT_ID"]  # the archive's layout: a lot_id level (F6N910.1)
    part = Path("part_typ=SPM3F") / "test_stage=FT" / f"lot_id={lot}"
    want_files = {out / t / part / f"{fid}.parquet" for t in ("parts", "tests", "results")}
    assert {Path(f) for f in stats["files"]} == want_files
    for f in want_files:
        assert f.is_file()
    exp = expected_of(SMALL)
    assert stats["parts"] == exp["parts"]
    assert stats["results"] == exp["ptr"]["count"]
    assert stats["tests"] == stdf_duck.read("tests", small).to_arrow().num_rows
    for t in ("parts", "tests", "results"):
        n_pq = pq.read_table(out / t / part / f"{fid}.parquet").num_rows
        assert n_pq == stdf_duck.read(t, small).to_arrow().num_rows
    # DuckDB reads the Hive layout back
    n = scalar(f"SELECT count(*) FROM read_parquet('{out}/results/*/*/*/*.parquet', hive_partitioning = true)")
    assert n == exp["ptr"]["count"]
    pt = query(
        f"SELECT DISTINCT part_typ, test_stage, lot_id FROM read_parquet('{out}/parts/*/*/*/*.parquet', hive_partitioning = true)"
    )
    assert pt == [("SPM3F", "FT", lot)]


def test_parse_to_parquet_missing_file(tmp_path: Path) -> None:
    with pytest.raises(stdf_duck.StdfFileNotFoundError):
        stdf_duck.parse_to_parquet(tmp_path / "nope.stdf", tmp_path / "out", "P", "T")


# ---------------------------------------------------------------------------------------------
# errors and typing


def test_exception_hierarchy() -> None:
    assert issubclass(stdf_duck.StdfFormatError, stdf_duck.StdfError)
    assert issubclass(stdf_duck.StdfFormatError, ValueError)
    assert issubclass(stdf_duck.StdfTruncatedError, stdf_duck.StdfFormatError)
    assert issubclass(stdf_duck.StdfUnsupportedError, stdf_duck.StdfError)
    assert issubclass(stdf_duck.StdfIOError, stdf_duck.StdfError)
    assert issubclass(stdf_duck.StdfIOError, OSError)
    assert issubclass(stdf_duck.StdfFileNotFoundError, stdf_duck.StdfIOError)
    assert issubclass(stdf_duck.StdfFileNotFoundError, FileNotFoundError)
    e = stdf_duck.StdfTruncatedError("m", path="p", offset=3, record="PTR")
    assert (e.path, e.offset, e.record) == ("p", 3, "PTR")


def test_table_repr_and_properties(small: Path) -> None:
    t = stdf_duck.read("results", small)
    assert t.table in ("results", "stdf_results")
    assert "results" in repr(t)
    assert t.paths == [str(small)]
    assert "result" in t.columns and "part_index" in t.columns


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_native_stub_matches_module() -> None:
    """stdf_duck/_native.pyi describes the compiled module (mypy.stubtest)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "stdf_duck._native"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(REPO)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# the contract of shared/docs/design.md §2: columns that users, docs and checks rely on
CONTRACT = {
    "files": "file_id, file_path, lot_id, part_typ, test_stage, tstr_typ, exec_typ, node_nam, job_nam, start_time, finish_time, byte_order, compression, n_records, n_parts, complete",
    "parts": "file_id, part_index, head_num, site_num, part_id, x_coord, y_coord, hard_bin, soft_bin, passed, part_flg, wafer_index, wafer_id, lot_id, part_typ, test_stage, retest_index, is_final",
    "tests": "file_id, test_num, test_name, test_type, units, lo_limit, hi_limit",
    "results": "file_id, part_index, head_num, site_num, rec_type, test_num, test_name, element_index, pin_index, result, units, lo_limit, hi_limit, test_flg, passed",
    "bins": "file_id, bin_type, bin_num, bin_name, bin_pf, is_summary, head_num, site_num, bin_cnt",
    "wafers": "file_id, wafer_index, wafer_id, head_num, part_cnt, good_cnt",
    "records": "file_id, record_index, byte_offset, rec_typ, rec_sub, rec_name, rec_len",
    "warnings": "file_id, record_index, byte_offset, code, message",
}


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_contract_columns(table: str, tmp_path: Path) -> None:
    stub = tmp_path / "x.stdf"  # the schema is known without reading any file
    stub.write_bytes(b"")
    cols = stdf_duck.read(table, stub).columns
    missing = [c for c in CONTRACT[table].split(", ") if c not in cols]
    assert not missing


#: every field of these records, in the order of the STDF V4 specification (lower case)
SPEC_FIELDS = {
    "far": "cpu_type stdf_ver",
    "mir": (
        "setup_t start_t stat_num mode_cod rtst_cod prot_cod burn_tim cmod_cod lot_id part_typ node_nam tstr_typ "
        "job_nam job_rev sblot_id oper_nam exec_typ exec_ver test_cod tst_temp user_txt aux_file pkg_typ famly_id "
        "date_cod facil_id floor_id proc_id oper_frq spec_nam spec_ver flow_id setup_id dsgn_rev eng_id rom_cod "
        "serl_num supr_nam"
    ),
    "pir": "head_num site_num",
    "prr": "head_num site_num part_flg num_test hard_bin soft_bin x_coord y_coord test_t part_id part_txt part_fix",
    "ptr": (
        "test_num head_num site_num test_flg parm_flg result test_txt alarm_id opt_flag res_scal llm_scal hlm_scal "
        "lo_limit hi_limit units c_resfmt c_llmfmt c_hlmfmt lo_spec hi_spec"
    ),
    "wrr": (
        "head_num site_grp finish_t part_cnt rtst_cnt abrt_cnt good_cnt func_cnt wafer_id fabwf_id frame_id mask_id "
        "usr_desc exc_desc"
    ),
}
#: what a raw table may have before the record's fields: where the record is, and the part or wafer
#: it belongs to (design.md section 2: file_id, record_index, then every field; part_index on PIR, PRR, PTR)
IDENTITY = {"file_id", "stream_index", "record_index", "byte_offset", "rec_len", "part_index", "wafer_index"}


@pytest.mark.parametrize("table", sorted(SPEC_FIELDS))
def test_raw_tables_spec_fields_in_spec_order(table: str, tmp_path: Path) -> None:
    """A raw table is its identity columns, then every field of the record, in the spec's order,
    and nothing else: a field missing, added, renamed or moved fails."""
    stub = tmp_path / "x.stdf"  # the schema is known without reading any file
    stub.write_bytes(b"")
    cols = stdf_duck.read(table, stub).columns
    fields = SPEC_FIELDS[table].split()
    head, tail = cols[: len(cols) - len(fields)], cols[len(cols) - len(fields) :]
    assert tail == fields
    assert head[0] == "file_id" and "record_index" in head
    assert set(head) <= IDENTITY, set(head) - IDENTITY
    assert ("part_index" in head) == (table in ("pir", "prr", "ptr"))
