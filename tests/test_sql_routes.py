"""One SQL conformance suite run on both routes: the native extension (when this build has it)
and the SQL-rewrite fallback. Expected values come from the independent reference
(../shared/data/stdf/expected) or from the spec, never from our own output."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

import stdf_duck
from stdf_duck import RewriteError

from conftest import expected_of, real_file

LOT2 = "lot2.stdf.gz"
V93K = "WS_P9AR90_25C_SmartScale1_20191226_23h16m02s.stdf"


def _native_con() -> Any:
    if stdf_duck.extension_path() is None:
        pytest.skip("this build has no native extension")
    con = stdf_duck.connect()
    assert stdf_duck.route(con) == "native"
    return con


@pytest.fixture(params=["native", "rewrite"])
def con(request: pytest.FixtureRequest) -> Any:
    if request.param == "native":
        c = _native_con()
    else:
        c = stdf_duck.install(duckdb.connect())
        assert stdf_duck.route(c) == "rewrite"
    yield c
    c.close()


def q(con: Any, sql: str) -> list[tuple[Any, ...]]:
    return con.sql(sql).fetchall()


def _close(a: float, b: float, n: int) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6 * max(n, 1))


def test_ptr_totals_match_reference(con: Any) -> None:
    f = real_file(LOT2)
    exp = expected_of(LOT2)["ptr"]
    n, s = q(con, f"SELECT count(result), sum(result) FROM stdf_results('{f}') WHERE rec_type = 'PTR'")[0]
    assert n == exp["n_result_present"]
    want = math.fsum(t["sum_result"] for t in exp["tests"].values())
    assert _close(s, want, n)


def test_per_test_sums_with_tests_filter(con: Any) -> None:
    f = real_file(V93K)
    exp = expected_of(V93K)["ptr"]["tests"]
    picked = sorted(exp, key=lambda k: -exp[k]["n"])[:3]
    rows = q(
        con,
        f"SELECT test_num, count(*), count(result), sum(result) FROM stdf_results('{f}', tests := [{', '.join(picked)}]) "
        "WHERE rec_type = 'PTR' GROUP BY ALL ORDER BY 1",
    )
    assert [str(r[0]) for r in rows] == sorted(picked, key=int)
    for tn, n, npresent, s in rows:
        e = exp[str(tn)]
        assert (n, npresent) == (e["n"], e["n_result_present"])
        assert _close(s or 0.0, e["sum_result"], n)


def test_hard_bins(con: Any) -> None:
    f = real_file(LOT2)
    exp = expected_of(LOT2)["hard_bin_counts"]
    rows = q(con, f"SELECT hard_bin, count(*) FROM stdf_parts('{f}') WHERE complete GROUP BY 1")
    assert {str(b): n for b, n in rows} == exp


def test_join_results_to_parts(con: Any) -> None:
    f = real_file(LOT2)
    n, s = expected_of(LOT2)["keyed_ptr"]["1/1000"]
    rows = q(
        con,
        f"SELECT count(r.result), sum(r.result) FROM stdf_results('{f}', tests := [1000]) r "
        f"JOIN stdf_parts('{f}') p USING (file_id, part_index) WHERE p.hard_bin = 1",
    )
    assert rows[0][0] == n
    assert _close(rows[0][1], s, n)


def test_cte_view_ctas_and_default_alias(con: Any) -> None:
    f = real_file(LOT2)
    parts = expected_of(LOT2)["parts"]
    assert q(con, f"WITH p AS (SELECT * FROM stdf_parts('{f}')) SELECT count(*) FROM p WHERE complete") == [(parts,)]
    assert q(con, f"SELECT count(stdf_parts.hard_bin) FROM stdf_parts('{f}')") == [(parts,)]
    con.execute(f"CREATE VIEW pv AS SELECT hard_bin FROM stdf_parts('{f}')")
    assert q(con, "SELECT count(*) FROM pv") == [(parts,)]
    assert q(con, "SELECT count(*) FROM pv") == [(parts,)]
    con.execute(f"CREATE TABLE pt AS SELECT part_index, hard_bin FROM stdf_parts('{f}')")
    assert q(con, "SELECT count(*) FROM pt") == [(parts,)]


def test_describe_lists_every_column(con: Any) -> None:
    f = real_file(LOT2)
    cols = stdf_duck.read("tests", f).columns
    rows = q(con, f"DESCRIBE SELECT * FROM stdf_tests('{f}')")
    assert [r[0] for r in rows] == cols


def test_copy_partitioned_parquet(con: Any, tmp_path: Path) -> None:
    f = real_file(LOT2)
    exp = expected_of(LOT2)
    out = tmp_path / "parts"
    con.execute(
        f"COPY (SELECT * FROM stdf_parts('{f}')) TO '{out}' (FORMAT parquet, PARTITION_BY (part_typ, test_stage, lot_id))"
    )
    lot = exp["mir"]["LOT_ID"]
    assert list((out).glob(f"part_typ=*/test_stage=*/lot_id={lot}/*.parquet"))
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true) WHERE complete").fetchall()
    assert n == [(exp["parts"],)]


def test_exclude_and_star_modifiers(con: Any) -> None:
    f = real_file(LOT2)
    cols = stdf_duck.read("parts", f).columns
    rel = con.sql(f"SELECT * EXCLUDE (file_id, part_txt) FROM stdf_parts('{f}') LIMIT 1")
    assert rel.columns == [c for c in cols if c not in ("file_id", "part_txt")]


def test_rewrite_refuses_what_it_cannot_serve() -> None:
    c = stdf_duck.install(duckdb.connect())
    with pytest.raises(RewriteError, match="parameters"):
        c.execute("SELECT * FROM stdf_parts($1)", ["x.stdf"])
    with pytest.raises(RewriteError, match="LATERAL"):
        c.execute("SELECT * FROM (SELECT 'x' AS f) t, LATERAL stdf_parts(t.f)")
    with pytest.raises(RewriteError, match="literals"):
        c.execute("SELECT * FROM (SELECT 1) t, stdf_parts(getvariable('f'))")
    with pytest.raises(RewriteError, match="unknown function"):
        c.execute("SELECT * FROM stdf_nothing('x')")


def test_rewrite_leaves_strings_and_comments_alone() -> None:
    c = stdf_duck.install(duckdb.connect())
    assert c.sql("SELECT 'stdf_parts(1)' AS s -- stdf_results('x')").fetchall() == [("stdf_parts(1)",)]


def test_rewrite_reads_only_the_columns_used() -> None:
    f = real_file(LOT2)
    c = stdf_duck.install(duckdb.connect())
    plan = c.sql(f"EXPLAIN SELECT sum(result) FROM stdf_results('{f}') WHERE test_num = 1000").fetchall()[0][1]
    assert "result" in plan and "test_num" in plan and "lo_limit" not in plan


def test_errors_name_file_and_offset(con: Any) -> None:
    f = real_file("STS_001SRAM_8435_-30c_Nov_10_23h05m08s.stdf")
    with pytest.raises(Exception) as ei:
        q(con, f"SELECT count(*) FROM stdf_records('{f}')")
    assert "2217" in str(ei.value) and Path(f).name in str(ei.value)
    rows = q(con, f"SELECT byte_offset, code FROM stdf_warnings('{f}', on_error := 'warn') WHERE code = 'truncated'")
    assert rows == [(2217, "truncated")]
    assert q(con, f"SELECT count(*) FROM stdf_records('{f}', on_error := 'warn')") == [(81,)]


def test_magic_runs_sql(tmp_path: Path) -> None:
    f = real_file(LOT2)
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "stdf_duck")
    df = ip.run_cell_magic("stdf", "--out d", f"SELECT hard_bin, count(*) AS n FROM stdf_parts('{f}') GROUP BY 1 ORDER BY 2 DESC")
    exp = expected_of(LOT2)["hard_bin_counts"]
    assert dict(zip(df["hard_bin"].astype(str), df["n"])) == exp
    assert ip.user_ns["d"].shape == df.shape


def test_jupysql_runs_stdf_functions(con: Any) -> None:
    pytest.importorskip("sql")
    from IPython.testing.globalipapp import get_ipython

    f = real_file(LOT2)
    ip = get_ipython()
    ip.user_ns["stdfcon"] = con
    ip.run_line_magic("load_ext", "sql")
    ip.run_line_magic("sql", "stdfcon")
    try:
        res = ip.run_line_magic("sql", f"SELECT count(*) AS n FROM stdf_parts('{f}') WHERE complete")
        assert res.dict()["n"] == (expected_of(LOT2)["parts"],)
    finally:
        from sql.connection import ConnectionManager

        ConnectionManager.connections.clear()


def test_default_connection_and_magic_duckdb() -> None:
    """Native route: duckdb.sql() after set_default_connection, and magic-duckdb's %dql."""
    con = _native_con()
    fx = Path(__file__).parent / "fixtures" / "multisite_le.stdf"
    parts = 94  # tests/fixtures/README.md: multisite_le.stdf holds 94 parts
    duckdb.set_default_connection(con)
    try:
        assert duckdb.sql(f"SELECT count(*) FROM stdf_parts('{fx}')").fetchall() == [(parts,)]
    finally:
        duckdb.set_default_connection(duckdb.connect())
    pytest.importorskip("magic_duckdb")
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.user_ns["stdfcon"] = con
    ip.run_line_magic("load_ext", "magic_duckdb")
    df = ip.run_line_magic("dql", f"-co stdfcon SELECT count(*) AS n FROM stdf_parts('{fx}')")
    assert int(df["n"][0]) == parts
