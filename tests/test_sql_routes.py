"""One SQL conformance suite run on both routes: the native extension (when this build has it)
and the SQL-rewrite fallback. Expected values come from the independent reference
(../shared/data/stdf/expected) or from the spec, never from our own output."""

from __future__ import annotations

import gzip
import math
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import FIXTURES, REPO, expected_of, real_file

import stdf_duck
from stdf_duck import RewriteError

LOT2 = "lot2.stdf.gz"
V93K = "WS_P9AR90_25C_SmartScale1_20191226_23h16m02s.stdf"


def _native_con() -> Any:
    if stdf_duck.extension_path() is None:
        pytest.skip("this build has no native extension")
    con = stdf_duck.connect()
    assert stdf_duck.route(con) == "native"
    return con


def _rewrite_con() -> Any:
    c = stdf_duck.install(duckdb.connect())
    assert stdf_duck.route(c) == "rewrite"
    return c


def _route_con(name: str) -> Any:
    return _native_con() if name == "native" else _rewrite_con()


@pytest.fixture(params=["native", "rewrite"])
def con(request: pytest.FixtureRequest) -> Any:
    c = _route_con(request.param)
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
    n = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true) WHERE complete"
    ).fetchall()
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
    # MANIFEST: the PMR at 2152 declares REC_LEN 24, a valid FTR follows at 2168; 71 records precede the
    # PMR (the reference's counts less its garbage and the PMR) and 188 follow the resync
    assert ei.value.offset == 2152 and Path(f).name in str(ei.value)
    rows = q(con, f"SELECT byte_offset, code FROM stdf_warnings('{f}', on_error := 'warn') WHERE code = 'desync'")
    assert rows == [(2152, "desync")]
    assert q(con, f"SELECT count(*) FROM stdf_records('{f}', on_error := 'warn')") == [(71 + 188,)]


def test_magic_runs_sql(tmp_path: Path) -> None:
    f = real_file(LOT2)
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "stdf_duck")
    df = ip.run_cell_magic(
        "stdf", "--out d", f"SELECT hard_bin, count(*) AS n FROM stdf_parts('{f}') GROUP BY 1 ORDER BY 2 DESC"
    )
    exp = expected_of(LOT2)["hard_bin_counts"]
    assert dict(zip(df["hard_bin"].astype(str), df["n"], strict=True)) == exp
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
    duckdb.set_default_connection(con.connection)
    try:
        assert duckdb.sql(f"SELECT count(*) FROM stdf_parts('{fx}')").fetchall() == [(parts,)]
    finally:
        duckdb.set_default_connection(duckdb.connect())
    pytest.importorskip("magic_duckdb")
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.user_ns["stdfcon"] = con.connection  # magic-duckdb takes DuckDB's own connection class only
    ip.run_line_magic("load_ext", "magic_duckdb")
    df = ip.run_line_magic("dql", f"-co stdfcon SELECT count(*) AS n FROM stdf_parts('{fx}')")
    assert int(df["n"][0]) == parts


# ---- statement sequences: whatever works on plain DuckDB works on both routes -----------------

MULTISITE = FIXTURES / "multisite_le.stdf"  # tests/fixtures/README.md: 94 parts, hard bin 1: 76


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', plain Python value) or ('error', exception class name)."""
    try:
        v = fn()
    except Exception as e:
        return ("error", type(e).__name__)
    if hasattr(v, "to_pylist"):  # pyarrow Table
        v = [tuple(r.values()) for r in v.to_pylist()]
    elif hasattr(v, "itertuples"):  # pandas DataFrame
        v = [tuple(x.item() if hasattr(x, "item") else x for x in r) for r in v.itertuples(index=False)]
    elif not isinstance(v, (list, tuple, type(None), int, str)):
        v = type(v).__name__.replace("StdfConnection", "DuckDBPyConnection")
    return ("ok", v)


def _arrow(x: Any) -> Any:
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fn = getattr(x, name, None)
        if fn is not None:
            return fn()
    raise AttributeError("no arrow method")


SELECT = "SELECT part_index, hard_bin FROM {p} WHERE part_index < 7 ORDER BY part_index"
COUNT = "SELECT count(*), sum(hard_bin) FROM {p}"
#: op name -> what it does on connection `c` with `{p}` the parts source
OPS: dict[str, Callable[[Any, str], Any]] = {
    "execute": lambda c, p: c.execute(SELECT.format(p=p)),
    "execute_params": lambda c, p: c.execute(f"SELECT count(*) FROM {p} WHERE hard_bin = ? AND site_num <= ?", [1, 2]),
    "execute_plain": lambda c, p: c.execute("SELECT 42, 'x'"),
    "executemany": lambda c, p: c.executemany(
        f"INSERT INTO seen SELECT ?, count(*) FROM {p} WHERE hard_bin = ?", [[1, 1], [2, 2]]
    ),
    "fetchone": lambda c, p: c.fetchone(),
    "fetchmany": lambda c, p: c.fetchmany(2),
    "fetchall": lambda c, p: c.fetchall(),
    "df": lambda c, p: c.df(),
    "arrow": lambda c, p: _arrow(c),
    "sql_fetchall": lambda c, p: c.sql(COUNT.format(p=p)).fetchall(),
    "sql_fetchone": lambda c, p: c.sql(SELECT.format(p=p)).fetchone(),
    "sql_df": lambda c, p: c.sql(SELECT.format(p=p)).df(),
    "sql_arrow": lambda c, p: _arrow(c.sql(SELECT.format(p=p))),
    "sql_chained": lambda c, p: c.sql(SELECT.format(p=p)).filter("hard_bin > 1").aggregate("count(*)").fetchall(),
    "query": lambda c, p: c.query(COUNT.format(p=p)).fetchall(),
    "seen": lambda c, p: c.execute("SELECT * FROM seen ORDER BY ALL").fetchall(),
}


def _run_sequence(base: Any, parts: str, ops: list[str]) -> list[tuple[str, Any]]:
    base.execute("CREATE OR REPLACE TABLE seen (bin INTEGER, n BIGINT)")
    cur = base
    out = []
    for op in ops:
        if op == "cursor":
            cur = base.cursor()
            out.append(("ok", "cursor"))
        elif op == "base":
            cur = base
            out.append(("ok", "base"))
        else:
            out.append(_outcome(lambda op=op, cur=cur: OPS[op](cur, parts)))
    return out


def _sequences(n: int, length: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    names = [*OPS, "cursor", "base"]
    weights = [3 if n.startswith(("execute", "fetch")) else 1 for n in names]
    return [rng.choices(names, weights, k=length) for _ in range(n)]


@pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")
@pytest.mark.parametrize("route_name", ["native", "rewrite"])
def test_statement_sequences_behave_as_on_plain_duckdb(route_name: str) -> None:
    """Random interleavings of execute (with parameters), executemany, fetchone/fetchmany/fetchall,
    df, arrow, sql(), query() and cursors give, step by step, the values and errors of the same
    sequence on a plain DuckDB connection over a table holding the fixture's parts."""
    plain = duckdb.connect()
    plain.register("arrow_parts", stdf_duck.read("parts", MULTISITE).to_arrow())
    plain.execute("CREATE TABLE ref_parts AS SELECT * FROM arrow_parts")
    assert plain.execute("SELECT count(*), count(*) FILTER (hard_bin = 1) FROM ref_parts").fetchall() == [(94, 76)]
    con = _route_con(route_name)
    src = f"stdf_parts('{MULTISITE}')"
    # the sequence of the issue first, then random ones
    for ops in [["execute", "fetchone", "execute", "fetchall"], *_sequences(40, 8, seed=9)]:
        want = _run_sequence(plain, "ref_parts", ops)
        got = _run_sequence(con, src, ops)
        assert got == want, ops
    assert _run_sequence(con, src, ["execute", "fetchone", "execute", "fetchall"])[-1] == (
        "ok",
        [(i, b) for i, b in plain.execute(SELECT.format(p="ref_parts")).fetchall()],
    )


def test_relations_and_python_objects_through_the_wrapper(con: Any) -> None:
    """Relations from a stdf_duck connection are usable wherever DuckDB's are, and a statement
    still sees the caller's Python variables (DuckDB's replacement scans)."""
    import pyarrow as pa

    bins = pa.table({"hard_bin": [1, 2, 3, 4], "name": ["PASS", "B2", "B3", "B4"]})  # noqa: F841 (read by name in the SQL)
    rows = con.sql(
        f"SELECT b.name, count(*) FROM stdf_parts('{MULTISITE}') p JOIN bins b USING (hard_bin) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("B2", 12), ("B3", 5), ("B4", 1), ("PASS", 76)]  # fixtures README: hard bins
    rel = con.sql(f"SELECT hard_bin FROM stdf_parts('{MULTISITE}')")
    assert isinstance(rel, stdf_duck.StdfRelation) and len(rel) == 94
    assert pa.table(rel).num_rows == 94  # Arrow PyCapsule export
    assert con.sql("SELECT count(*) FROM rel WHERE hard_bin = 1").fetchall() == [(76,)]


# ---- errors: one behaviour on both routes -------------------------------------------------------

CORRUPT = FIXTURES / "corrupt.stdf"  # fixtures README: 5 records, then a DTR overrunning the file at 84
TRUNCATED = FIXTURES / "truncated.stdf"  # fixtures README: cut inside the PTR at 1808; 6 complete parts


def _sql_error(con: Any, sql: str, how: str) -> stdf_duck.StdfError:
    with pytest.raises(stdf_duck.StdfError) as ei:
        if how == "sql":
            con.sql(sql).fetchall()
        else:
            con.execute(sql).fetchall()
    return ei.value


@pytest.mark.parametrize("how", ["sql", "execute"])
def test_stdf_errors_in_sql_are_the_same_on_both_routes(tmp_path: Path, how: str) -> None:
    missing, pattern = tmp_path / "nosuch.stdf", tmp_path / "none*.stdf"
    cases = [
        # (source, class, path, offset, record)
        (f"'{missing}'", stdf_duck.StdfFileNotFoundError, str(missing), None, None),
        (f"'{pattern}'", stdf_duck.StdfFileNotFoundError, str(pattern), None, None),
        (f"['{MULTISITE}', '{pattern}']", stdf_duck.StdfFileNotFoundError, str(pattern), None, None),
        (f"'{CORRUPT}'", stdf_duck.StdfTruncatedError, str(CORRUPT), 84, "DTR"),
        (f"'{TRUNCATED}'", stdf_duck.StdfTruncatedError, str(TRUNCATED), 1808, "PTR"),
    ]
    native, rewrite = _native_con(), _rewrite_con()
    for src, cls, path, offset, record in cases:
        errs = [_sql_error(c, f"SELECT count(*) FROM stdf_records({src})", how) for c in (native, rewrite)]
        assert type(errs[0]) is type(errs[1]), src
        assert str(errs[0]) == str(errs[1]) and path in str(errs[0]), src
        for e in errs:
            assert isinstance(e, cls) and isinstance(e, duckdb.Error), (src, type(e).__mro__)
            assert (e.path, e.offset, e.record) == (path, offset, record), src
    # the connections stay usable
    for c in (native, rewrite):
        assert c.sql(f"SELECT count(*) FROM stdf_parts('{MULTISITE}')").fetchall() == [(94,)]


def test_warn_goes_on_with_the_other_files_on_both_routes(con: Any, tmp_path: Path) -> None:
    """on_error := 'warn': a missing file, an empty glob and damaged files are warnings (with the
    byte offset of the damage), and every other file, and every row before the damage, is read."""
    missing, pattern = tmp_path / "nosuch.stdf", tmp_path / "none*.stdf"
    src = f"['{MULTISITE}', '{missing}', '{pattern}', '{CORRUPT}', '{TRUNCATED}']"
    # fixtures README: 94 complete parts + corrupt 1 + truncated 6 (its 2 parts open at the cut are incomplete)
    assert q(con, f"SELECT count(*) FROM stdf_parts({src}, on_error := 'warn') WHERE complete") == [(94 + 1 + 6,)]
    warned = q(con, f"SELECT file_path, code, byte_offset FROM stdf_warnings({src}, on_error := 'warn') ORDER BY ALL")
    assert warned == sorted(
        [
            (str(pattern), "unreadable", None),
            (str(missing), "unreadable", None),
            (str(CORRUPT), "no_mrr", None),
            (str(CORRUPT), "truncated", 84),
            (str(TRUNCATED), "no_mrr", None),
            (str(TRUNCATED), "part_without_prr", None),  # the 2 parts open at the cut
            (str(TRUNCATED), "part_without_prr", None),
            (str(TRUNCATED), "truncated", 1808),
        ],
        key=lambda r: (r[0], r[1], -1 if r[2] is None else r[2]),
    )
    # a missing file alone is a warning too, not an error
    assert q(con, f"SELECT count(*) FROM stdf_parts('{missing}', on_error := 'warn')") == [(0,)]


# ---- the README ---------------------------------------------------------------------------------


def _readme_block(containing: str, lang: str) -> str:
    blocks = re.findall(rf"^ *```{lang}\n(.*?)^ *```", (REPO / "README.md").read_text(), re.S | re.M)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_readme_quick_start_sql_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Quick start's SQL block runs as written, in a fresh folder (its COPY needs no `archive/`)."""
    code = _readme_block("TO 'archive/parts'", "python")
    lots = tmp_path / "lots"
    lots.mkdir()
    (lots / "ms.stdf.gz").write_bytes(gzip.compress(MULTISITE.read_bytes()))
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert stdf_duck.route(ns["con"]) == ("native" if stdf_duck.extension_path() else "rewrite")
    # fixtures README: multisite_le is lot MS4LOT, part type SYNPART-A1, stage CP1, 94 parts
    (part,) = (tmp_path / "archive" / "parts").glob("part_typ=*/test_stage=*/lot_id=*")
    assert part.relative_to(tmp_path / "archive" / "parts").parts == (
        "part_typ=SYNPART-A1",
        "test_stage=CP1",
        "lot_id=MS4LOT",
    )
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{part}/*.parquet')").fetchall() == [(94,)]


# ---- a missing or unloadable extension is said, not silent ---------------------------------------


def test_missing_extension_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = tmp_path / "gone.duckdb_extension"
    monkeypatch.setenv("STDF_DUCK_EXTENSION", str(gone))
    assert stdf_duck.extension_path() is None
    with pytest.raises(
        stdf_duck.StdfFileNotFoundError,
        match=rf"has no DuckDB extension \(STDF_DUCK_EXTENSION={re.escape(str(gone))} does not exist\).*pip install \.",
    ):
        stdf_duck.extension_path(required=True)
    with pytest.warns(stdf_duck.StdfWarning, match="has no DuckDB extension.*rewrite route"):
        con = stdf_duck.connect()
    assert stdf_duck.route(con) == "rewrite"
    assert con.sql(f"SELECT count(*) FROM stdf_parts('{MULTISITE}')").fetchall() == [(94,)]
    # a file that is not an extension: DuckDB's reason is in the warning
    bogus = tmp_path / "bogus.duckdb_extension"
    bogus.write_bytes(b"not an extension")
    monkeypatch.setenv("STDF_DUCK_EXTENSION", str(bogus))
    with pytest.warns(stdf_duck.StdfWarning, match=rf"cannot load the DuckDB extension {re.escape(str(bogus))} \(.+\)"):
        assert stdf_duck.route(stdf_duck.connect()) == "rewrite"
    # a connection made without allow_unsigned_extensions takes the rewrite route as documented, silently
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stdf_duck.route(stdf_duck.install(duckdb.connect())) == "rewrite"
