"""The native DuckDB extension (rust/stdf-duckdb -> stdf.duckdb_extension) loaded into DuckDB.

Every ``stdf_*`` table function of the extension must give exactly the rows of
``stdf_duck.read(table, ...)`` (the Python/Arrow route), and the values of ``expected/*.json``
(computed by an independent parser) on the real files of ``../shared/data/stdf``.

The extension is built on demand (``cargo build --release -p stdf-duckdb`` plus the footer step,
the same as ``make extension``) when it is missing or older than the Rust sources; set
``STDF_DUCK_EXTENSION`` to test a prebuilt file instead. The DuckDB CLI test runs when a ``duckdb``
executable (PyPI ``duckdb-cli``) is installed.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import FIXTURES, REPO, expected_of, real_file

import stdf_duck

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BUILT = TARGET / "release" / "stdf.duckdb_extension"
DAMAGED = "STS_001SRAM_8435_-30c_Nov_10_23h05m08s.stdf"
FIXTURE_FILES = sorted(p for p in FIXTURES.glob("*.stdf"))


def _newest_source() -> float:
    paths = [REPO / "Cargo.lock", REPO / "Cargo.toml"]
    for crate in ("stdf-core", "stdf-arrow", "stdf-duckdb"):
        paths.extend((REPO / "rust" / crate).rglob("*.rs"))
        paths.append(REPO / "rust" / crate / "Cargo.toml")
    return max(p.stat().st_mtime for p in paths if p.exists())


def _build() -> Path:
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed: cannot build the DuckDB extension")
    # the build step of `make extension` and of the wheel (build-backend/stdf_duck_build.py)
    subprocess.run([sys.executable, str(REPO / "build-backend" / "stdf_duck_build.py")], cwd=REPO, check=True)
    return BUILT


@pytest.fixture(scope="session")
def extension() -> Path:
    """Path of stdf.duckdb_extension, (re)built when missing or stale."""
    given = os.environ.get("STDF_DUCK_EXTENSION")
    if given:
        return Path(given)
    if not BUILT.exists() or BUILT.stat().st_mtime < _newest_source():
        return _build()
    return BUILT


def connect(extension: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"allow_unsigned_extensions": True})
    con.load_extension(str(extension))
    return con


@pytest.fixture
def ext(extension: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(extension)
    try:
        yield con
    finally:
        con.close()


def sql_str(p: Path | str) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    rows = con.execute(sql, params or []).fetchall()
    assert len(rows) == 1, rows
    return tuple(rows[0])


def sums_close(got: float, exp: float, n: int) -> bool:
    return math.isclose(got, exp, rel_tol=1e-9, abs_tol=1e-9 * max(1, n))


def same_rows(con: duckdb.DuckDBPyConnection, table: str, path: Path, **kw: Any) -> None:
    """stdf_<table>(path) in SQL has exactly the rows of stdf_duck.read(table, path)."""
    py = stdf_duck.read(table, path, **kw).to_arrow()  # type: ignore[arg-type]
    args = "".join(f", {k} := {sql_str(v) if isinstance(v, str) else v}" for k, v in kw.items())
    call = f"stdf_{table}({sql_str(path)}{args})"
    con.register("py", py)
    try:
        n = one(con, f"SELECT count(*) FROM {call}")[0]
        assert n == py.num_rows, (table, path.name, n, py.num_rows)
        # schemas: same names in the same order
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {call}").fetchall()]
        assert names == py.column_names
        diff = one(
            con,
            f"SELECT count(*) FROM ((SELECT * FROM {call} EXCEPT ALL SELECT * FROM py)"
            f" UNION ALL (SELECT * FROM py EXCEPT ALL SELECT * FROM {call}))",
        )[0]
        assert diff == 0, (table, path.name, diff)
    finally:
        con.unregister("py")


# ---------------------------------------------------------------------------------------------
# loading


def test_every_table_function_is_registered(ext: duckdb.DuckDBPyConnection) -> None:
    got = {
        r[0]
        for r in ext.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_type = 'table' AND function_name LIKE 'stdf_%'"
        ).fetchall()
    }
    assert got == {f"stdf_{t}" for t in stdf_duck.TABLES}


def test_load_with_sql_and_visible_from_cursors(extension: Path) -> None:
    con = duckdb.connect(config={"allow_unsigned_extensions": True})
    con.execute(f"LOAD {sql_str(extension)}")
    fixture = FIXTURES / "multisite_le.stdf"
    assert one(con.cursor(), f"SELECT count(*) FROM stdf_parts({sql_str(fixture)})") == (94,)
    con.close()


def test_footer_is_the_stable_c_api(extension: Path) -> None:
    tail = extension.read_bytes()[-512:]
    fields = [tail[i * 32 : (i + 1) * 32].rstrip(b"\0").decode() for i in range(8)]
    assert fields[:3] == ["", "", ""]
    assert fields[3] == "C_STRUCT"  # never C_STRUCT_UNSTABLE: DuckDB 2.0 refuses those
    assert fields[5] == "v1.2.0"
    assert fields[7] == "4"
    con = duckdb.connect()
    assert fields[6] == one(con, "PRAGMA platform")[0]
    assert tail[256:] == b"\0" * 256


def test_unsigned_load_is_refused_without_the_setting(extension: Path) -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error):
        con.load_extension(str(extension))


# ---------------------------------------------------------------------------------------------
# the same rows as the Python route


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_tables_match_python(ext: duckdb.DuckDBPyConnection, fixture: Path) -> None:
    on_error = "warn" if fixture.name in {"truncated.stdf", "corrupt.stdf"} else "raise"
    for table in stdf_duck.TABLES:
        same_rows(ext, table, fixture, on_error=on_error)


@pytest.mark.parametrize(
    "name",
    ["tfile.std", "gdr.stdf", "WS_Virgo_7OLT36325_7OLT36325.25E4_PS1_20190110_20h59m18s.stdf", DAMAGED],
)
def test_real_file_tables_match_python(ext: duckdb.DuckDBPyConnection, name: str) -> None:
    # tfile.std holds every V4 record once; gdr.stdf: lists of structs (GDR), FTR lists; the
    # Advantest file: MPR arrays; the damaged file: everything before the damage
    path = real_file(name)
    for table in stdf_duck.TABLES:
        same_rows(ext, table, path, on_error="warn" if name == DAMAGED else "raise")


def test_every_table_function_runs_on_a_real_file(ext: duckdb.DuckDBPyConnection) -> None:
    """tfile.std holds nearly every V4 record type: each raw table has one row per record of its
    type (none for the types the file lacks), stdf_records one per record, stdf_files one per MIR,
    stdf_results one per PTR, per FTR and per MPR result; the counts are the independent parser's."""
    path = real_file("tfile.std")
    exp = expected_of("tfile.std")
    counts = {t: one(ext, f"SELECT count(*) FROM stdf_{t}({sql_str(path)})")[0] for t in stdf_duck.TABLES}
    raw = [t for t in stdf_duck.TABLES if len(t) == 3]  # far ... dtr: one table per record type
    assert {t: counts[t] for t in raw} == {t: exp["record_counts"].get(t.upper(), 0) for t in raw}
    assert sum(counts[t] for t in raw) == exp["records_total"] == counts["records"]
    assert counts["files"] == exp["mir_count_seen"]
    by_type = dict(ext.execute(f"SELECT rec_type, count(*) FROM stdf_results({sql_str(path)}) GROUP BY 1").fetchall())
    assert by_type == {"PTR": exp["ptr"]["count"], "FTR": exp["ftr"]["count"], "MPR": exp["mpr"]["n_rtn_rslt"]}
    assert counts["results"] == sum(by_type.values())


# ---------------------------------------------------------------------------------------------
# values against the independent parser


def test_results_count_and_sum_lot2(ext: duckdb.DuckDBPyConnection) -> None:
    path = real_file("lot2.stdf.gz")
    exp = expected_of("lot2.stdf.gz")
    n, total = one(ext, f"SELECT count(*), sum(result) FROM stdf_results({sql_str(path)})")
    py = stdf_duck.read("results", path, columns=["result"]).to_arrow()
    assert n == py.num_rows == exp["ptr"]["count"]  # lot2 has only PTRs
    py_sum = math.fsum(v for v in py.column("result").to_pylist() if v is not None)
    assert sums_close(total, py_sum, n)
    exp_sum = math.fsum(t["sum_result"] for t in exp["ptr"]["tests"].values())
    assert sums_close(total, exp_sum, n)


@pytest.mark.parametrize("name", ["lot2.stdf.gz", "ayad_ws.stdf"])
def test_ptr_sums_per_test(ext: duckdb.DuckDBPyConnection, name: str) -> None:
    path = real_file(name)
    exp = expected_of(name)["ptr"]["tests"]
    rows = ext.execute(
        f"SELECT test_num, count(*), count(result), sum(result) FILTER (WHERE isfinite(result))"
        f" FROM stdf_results({sql_str(path)}) WHERE rec_type = 'PTR' GROUP BY test_num"
    ).fetchall()
    assert {str(t) for t, *_ in rows} == set(exp)
    for t, n, present, total in rows:
        e = exp[str(t)]
        assert (n, present) == (e["n"], e["n_result_present"]), t
        assert sums_close(total or 0.0, e["sum_result"], present), (t, total, e["sum_result"])


def test_mpr_values_advantest(ext: duckdb.DuckDBPyConnection) -> None:
    name = "bcdm_S11189_c_01.stdf"
    path = real_file(name)
    exp = expected_of(name)["mpr"]
    n_rec, n_values, total = one(
        ext,
        f"SELECT count(DISTINCT record_index), count(*), sum(result) FILTER (WHERE isfinite(result))"
        f" FROM stdf_results({sql_str(path)}) WHERE rec_type = 'MPR'",
    )
    assert (n_rec, n_values) == (exp["count"], exp["n_rtn_rslt"])
    # raw MPR arrays hold every stored value (stdf_results nulls values of tests flagged not executed)
    raw_n, raw_sum = one(
        ext,
        f"SELECT count(v), sum(v) FILTER (WHERE isfinite(v))"
        f" FROM (SELECT unnest(rtn_rslt) AS v FROM stdf_mpr({sql_str(path)}))",
    )
    assert raw_n == exp["n_rtn_rslt"]
    assert sums_close(raw_sum, exp["sum_rtn_rslt"], raw_n)
    py = stdf_duck.read("results", path, columns=["rec_type", "result"]).to_arrow()
    py_vals = [
        r for t, r in zip(py.column("rec_type").to_pylist(), py.column("result").to_pylist(), strict=True) if t == "MPR"
    ]
    assert sums_close(total, math.fsum(v for v in py_vals if v is not None and math.isfinite(v)), n_values)


# ---------------------------------------------------------------------------------------------
# arguments


def test_projection_pushdown_in_explain(ext: duckdb.DuckDBPyConnection) -> None:
    path = FIXTURES / "multisite_le.stdf"
    plan = "\n".join(
        r[1] for r in ext.execute(f"EXPLAIN SELECT sum(result) FROM stdf_results({sql_str(path)})").fetchall()
    )
    assert "Projections: result" in plan
    assert "test_name" not in plan


def test_projection_any_order_and_count_only(ext: duckdb.DuckDBPyConnection) -> None:
    path = FIXTURES / "multisite_le.stdf"
    a = ext.execute(f"SELECT result, test_num, part_index FROM stdf_results({sql_str(path)})").fetchall()
    b = ext.execute(f"SELECT part_index, result, test_num FROM stdf_results({sql_str(path)})").fetchall()
    assert sorted(a, key=repr) == sorted(((r, t, p) for p, r, t in b), key=repr)
    assert one(ext, f"SELECT count(*) FROM stdf_results({sql_str(path)})") == (len(a),)


def test_tests_filter(ext: duckdb.DuckDBPyConnection) -> None:
    path = FIXTURES / "multisite_le.stdf"
    got = one(ext, f"SELECT count(*), sum(result) FROM stdf_results({sql_str(path)}, tests := [1000, 1050])")
    # fixtures/README.md: test 1000 has 94 MPRs (376 values), test 1050 82 PTRs
    assert got[0] == 376 + 82
    assert got[1] == pytest.approx(-225.7314453125 + 98.272216796875, rel=1e-12)
    assert one(ext, f"SELECT count(*) FROM stdf_ptr({sql_str(path)}, tests := [1050])") == (82,)
    py = stdf_duck.read("results", FIXTURES / "multisite_le.stdf", tests=[1000, 1050]).to_arrow()
    assert py.num_rows == got[0]
    with pytest.raises(duckdb.Error, match="tests"):
        ext.execute(f"SELECT count(*) FROM stdf_results({sql_str(path)}, tests := [-1])").fetchall()


def test_globs_and_lists(ext: duckdb.DuckDBPyConnection) -> None:
    le, be = FIXTURES / "multisite_le.stdf", FIXTURES / "multisite_be.stdf"
    one_file = one(ext, f"SELECT count(*) FROM stdf_parts({sql_str(le)})")[0]
    assert one(ext, f"SELECT count(*) FROM stdf_parts({sql_str(FIXTURES / 'multisite_*.stdf')})") == (2 * one_file,)
    assert one(ext, f"SELECT count(*) FROM stdf_parts([{sql_str(le)}, {sql_str(be)}])") == (2 * one_file,)
    n, files = one(
        ext,
        f"SELECT count(*), count(DISTINCT file_path) FROM stdf_parts([{sql_str(le)}, {sql_str(be)}], filename := true)",
    )
    assert (n, files) == (2 * one_file, 2)
    # prepared parameters work as paths
    assert one(ext, "SELECT count(*) FROM stdf_parts(?)", [str(le)]) == (one_file,)


def test_multi_file_parallel_scan(extension: Path) -> None:
    con = connect(extension)
    con.execute("SET threads = 4")
    paths = [str(p) for p in FIXTURE_FILES if p.name not in {"truncated.stdf", "corrupt.stdf"}]
    py = stdf_duck.read("results", paths).to_arrow().num_rows
    for threads in (0, 1):
        got = one(con, f"SELECT count(*) FROM stdf_results(?, threads := {threads})", [paths])[0]
        assert got == py
    con.close()


def test_real_globs(ext: duckdb.DuckDBPyConnection) -> None:
    lot3 = real_file("lot3.zip")
    both = lot3.parent / "lot3.*"  # lot3.zip and lot3.stdf.bz2: same content
    n_one = one(ext, f"SELECT count(*) FROM stdf_results({sql_str(lot3)})")[0]
    assert one(ext, f"SELECT count(*) FROM stdf_results({sql_str(both)})") == (2 * n_one,)


def test_argument_errors(ext: duckdb.DuckDBPyConnection) -> None:
    path = sql_str(FIXTURES / "multisite_le.stdf")
    for call, match in [
        (f"stdf_results({path}, on_error := 'maybe')", "on_error"),
        (f"stdf_results({path}, bogus := 1)", "bogus"),
        ("stdf_results(42)", "VARCHAR"),
        ("stdf_results(NULL)", "NULL"),
        ("stdf_results([])", "empty"),
        ("stdf_results('/nonexistent/x.stdf')", "x.stdf"),
        (f"stdf_results({sql_str(FIXTURES / 'nothing*.stdf')})", "no file matches"),
        ("stdf_results('/nonexistent/*.stdf')", "/nonexistent"),
    ]:
        with pytest.raises(duckdb.Error, match=match):
            ext.execute(f"SELECT count(*) FROM {call}").fetchall()
    # the connection stays usable
    assert one(ext, f"SELECT count(*) > 0 FROM stdf_parts({path})") == (True,)


# ---------------------------------------------------------------------------------------------
# damage


def test_damaged_file_warn_and_raise(ext: duckdb.DuckDBPyConnection) -> None:
    path = real_file(DAMAGED)
    n = one(ext, f"SELECT count(*) FROM stdf_records({sql_str(path)}, on_error := 'warn')")[0]
    assert n > 0
    offsets = [
        r[0]
        for r in ext.execute(
            f"SELECT byte_offset FROM stdf_warnings({sql_str(path)}, on_error := 'warn') WHERE byte_offset IS NOT NULL"
        ).fetchall()
    ]
    assert 2152 in offsets  # MANIFEST: the PMR at 2152 is the damaged record
    with pytest.raises(duckdb.Error) as err:
        ext.execute(f"SELECT count(*) FROM stdf_records({sql_str(path)})").fetchall()
    msg = str(err.value)
    assert DAMAGED in msg and "PMR at byte offset 2152" in msg
    assert one(ext, "SELECT 1") == (1,)


def test_error_message_carries_the_error_machine_readable(ext: duckdb.DuckDBPyConnection) -> None:
    """On a plain DuckDB connection (or the CLI) the message names file, offset and record, then
    the same facts as JSON, from which stdf_duck.install(con) raises the StdfError subclass."""
    import json

    path = FIXTURES / "truncated.stdf"  # fixtures README: cut inside the PTR at byte offset 1808
    with pytest.raises(duckdb.InvalidInputException) as err:
        ext.execute(f"SELECT count(*) FROM stdf_results({sql_str(path)})").fetchall()
    msg = str(err.value)
    assert f"{path}: " in msg and "(record PTR at byte offset 1808)" in msg
    facts = json.loads(msg[msg.index("[stdf_error ") + len("[stdf_error ") : msg.rindex("]")])
    assert {k: facts[k] for k in ("kind", "path", "offset", "record")} == {
        "kind": "truncated",
        "path": str(path),
        "offset": 1808,
        "record": "PTR",
    }
    con = stdf_duck.install(ext)
    with pytest.raises(stdf_duck.StdfTruncatedError) as mapped:
        con.execute(f"SELECT count(*) FROM stdf_results({sql_str(path)})").fetchall()
    assert (mapped.value.path, mapped.value.offset, mapped.value.record) == (str(path), 1808, "PTR")
    assert "[stdf_error" not in str(mapped.value)


def test_warn_goes_on_with_the_other_files(ext: duckdb.DuckDBPyConnection) -> None:
    good, bad = FIXTURES / "multisite_le.stdf", FIXTURES / "corrupt.stdf"
    n_good = one(ext, f"SELECT count(*) FROM stdf_parts({sql_str(good)})")[0]
    n_bad = one(ext, f"SELECT count(*) FROM stdf_parts({sql_str(bad)}, on_error := 'warn')")[0]
    both = one(ext, f"SELECT count(*) FROM stdf_parts([{sql_str(good)}, {sql_str(bad)}], on_error := 'warn')")[0]
    assert both == n_good + n_bad


# ---------------------------------------------------------------------------------------------
# SQL around the functions


def test_describe(ext: duckdb.DuckDBPyConnection) -> None:
    path = sql_str(FIXTURES / "multisite_le.stdf")
    cols = {r[0]: r[1] for r in ext.execute(f"DESCRIBE FROM stdf_results({path})").fetchall()}
    assert cols["result"] == "FLOAT"
    assert cols["test_name"] == "VARCHAR"  # dictionary-encoded in Arrow
    assert cols["test_num"] == "UINTEGER"
    files = {r[0]: r[1] for r in ext.execute(f"DESCRIBE SELECT * FROM stdf_files({path})").fetchall()}
    assert files["start_time"] == "TIMESTAMP"
    assert files["retest_bins"] == "USMALLINT[]"
    assert files["audit_trail"].startswith("STRUCT(mod_time TIMESTAMP")
    tests = {r[0]: r[1] for r in ext.execute(f"DESCRIBE FROM stdf_tests({path})").fetchall()}
    assert tests["pin_names"] == "VARCHAR[]"


def test_copy_to_partitioned_parquet(ext: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = sql_str(FIXTURES / "multisite_le.stdf")
    out = tmp_path / "results"
    ext.execute(
        f"COPY (SELECT site_num, test_num, result FROM stdf_results({path}))"
        f" TO {sql_str(out)} (FORMAT parquet, PARTITION_BY (site_num))"
    )
    assert sorted(p.name for p in out.iterdir()) == ["site_num=1", "site_num=2", "site_num=3", "site_num=4"]
    back = one(
        ext,
        f"SELECT count(*), sum(result) FROM read_parquet({sql_str(out / '**' / '*.parquet')}, hive_partitioning = true)",
    )
    want = one(ext, f"SELECT count(*), sum(result) FROM stdf_results({path})")
    assert back[0] == want[0]
    assert back[1] == pytest.approx(want[1], rel=1e-12)  # parallel sums add in any order


def test_view_queried_twice(ext: duckdb.DuckDBPyConnection) -> None:
    path = sql_str(FIXTURES / "multisite_le.stdf")
    ext.execute(f"CREATE VIEW parts AS SELECT * FROM stdf_parts({path})")
    first = ext.execute("SELECT hard_bin, count(*) FROM parts GROUP BY ALL ORDER BY ALL").fetchall()
    second = ext.execute("SELECT hard_bin, count(*) FROM parts GROUP BY ALL ORDER BY ALL").fetchall()
    # fixtures/README.md: hard bins of multisite_le, every insertion
    assert first == second == [(1, 76), (2, 12), (3, 5), (4, 1)]


def test_join_parts_results(ext: duckdb.DuckDBPyConnection) -> None:
    path = sql_str(FIXTURES / "multisite_le.stdf")
    rows = ext.execute(
        f"SELECT p.site_num, count(*) FROM stdf_results({path}) r"
        f" JOIN stdf_parts({path}) p USING (file_id, part_index) WHERE r.rec_type = 'PTR' GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert sum(n for _, n in rows) == 415  # PTR records of the fixture


# ---------------------------------------------------------------------------------------------
# DuckDB CLI


def _duckdb_cli() -> str | None:
    here = Path(sys.executable).parent / "duckdb"
    return str(here) if here.exists() else shutil.which("duckdb")


def test_duckdb_cli(extension: Path) -> None:
    cli = _duckdb_cli()
    if cli is None:
        pytest.skip("the DuckDB CLI is not installed (pip install duckdb-cli)")
    path = FIXTURES / "multisite_le.stdf"
    sql = (
        f"LOAD {sql_str(extension)}; SELECT count(*), sum(result) FROM stdf_results({sql_str(path)}, tests := [1050]);"
    )
    out = subprocess.run([cli, "-unsigned", "-csv", "-noheader", "-c", sql], capture_output=True, text=True, check=True)
    n, total = out.stdout.strip().splitlines()[-1].split(",")
    assert int(n) == 82
    assert float(total) == pytest.approx(98.272216796875, rel=1e-12)
