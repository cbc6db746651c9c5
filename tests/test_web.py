"""The dashboard's pages run by Streamlit's AppTest (no browser): the numbers each page shows
against values derived here, independently of the analysis layer: tests/fixtures/README.md
(multisite_le: lot MS4LOT 88 dice, 76 good; wafers MS4LOT-01 and -02 44 dice, 38 good each; hard
bins 1: 76, 2: 10, 3: 2) and the raw `stdf_prr` / `stdf_wir` / `stdf_ptr` records (the last PRR of
each (wafer, x, y) is its die, the first its first pass), also for a real file (lot2.stdf.gz).
Also: the SQL page refuses what is not one read-only query, the export page writes the selection,
the `web` command line, and each page's answer time on the fixture archive.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("streamlit")
from conftest import FIXTURES, SHARED_STDF  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import stdf_duck  # noqa: E402
from stdf_duck.web import APP, PAGES, SOURCE_ENV  # noqa: E402

FIXTURE = FIXTURES / "multisite_le.stdf"
LOT2 = SHARED_STDF / "rust-stdf" / "lot2.stdf.gz"


def raw_dice(path: Path) -> dict[Any, dict[str, Any]]:
    """Per die (wafer, x, y) from the raw records: its final and first PRR (pass from PART_FLG
    0x08 failed, 0x10 unknown), in PRR order; the wafer is the last WIR before the PRR."""
    con = stdf_duck.connect()
    prr = con.execute(
        f"SELECT record_index, part_index, site_num, part_flg, hard_bin, soft_bin, x_coord, y_coord "
        f"FROM stdf_prr('{path}') ORDER BY record_index"
    ).fetchall()
    wir = con.execute(f"SELECT record_index, wafer_id FROM stdf_wir('{path}') ORDER BY record_index").fetchall()
    out: dict[Any, dict[str, Any]] = {}
    for rec, part, site, flg, hb, sb, x, y in prr:
        before = [w for r, w in wir if r < rec]
        key = (before[-1] if before else None, x, y)
        passed = None if flg & 0x10 else not flg & 0x08
        first = out[key]["first_passed"] if key in out else passed
        out[key] = {
            "part_index": part,
            "site": site,
            "hard_bin": hb,
            "soft_bin": sb,
            "passed": passed,
            "first_passed": first,
        }
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web") / "arch"
    subprocess.run(
        [sys.executable, "-m", "stdf_duck.cli", "materialize", str(FIXTURE), "--archive", str(root), "-q"], check=True
    )
    return root


#: the widgets a test sets, by key, and their kind
WIDGETS = {
    "wafer_wafer": "selectbox", "wafer_die": "selectbox", "tests_test": "selectbox", "tests_search": "text_input",
    "bins_type": "radio", "export_shape": "radio", "export_format": "radio", "export_tests": "multiselect",
}  # fmt: skip


def page(source: list[Path], name: str, monkeypatch: pytest.MonkeyPatch, **state: Any) -> AppTest:
    """The app on `source` at page `name`, run once, then again after each widget value set (by key)."""
    monkeypatch.setenv(SOURCE_ENV, json.dumps([str(p) for p in source]))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["page"] = name
    at.run()
    for key, value in state.items():
        getattr(at, WIDGETS[key])(key=key).set_value(value)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%"


def test_overview_kpis_of_the_fixture_lot(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dice = raw_dice(FIXTURE)
    good = sum(1 for d in dice.values() if d["passed"])
    first_good = sum(1 for d in dice.values() if d["first_passed"])
    assert (len(dice), good) == (88, 76)  # tests/fixtures/README.md
    at = page([archive], "overview", monkeypatch)
    m = metrics(at)
    assert m["dice"] == "88" and m["good"] == "76"
    assert m["yield"] == pct(76, 88) == "86.4%"
    assert m["first-pass yield"] == pct(first_good, 88)
    lots = at.dataframe[0].value
    assert lots[["lot_id", "dice", "good"]].values.tolist() == [["MS4LOT", 88, 76]]


def test_lot_page_yield_and_map_of_every_wafer(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wafers table and the lot's maps (one figure, a map per wafer headed by its yield): every
    die drawn at its x, y in its wafer with the hard bin of its final PRR."""
    at = page([archive], "lot", monkeypatch)
    assert "**MS4LOT**: 88 dice, 76 good, yield 86.4%" in texts(at)
    dice = raw_dice(FIXTURE)
    wafers = at.table[0].value.reset_index()
    want = sorted(
        (w, sum(1 for k in dice if k[0] == w), sum(1 for k, d in dice.items() if k[0] == w and d["passed"]))
        for w in {k[0] for k in dice}
    )
    assert want == [("MS4LOT-01", 44, 38), ("MS4LOT-02", 44, 38)]
    assert [tuple(r) for r in wafers[["wafer_id", "dice", "good"]].values.tolist()] == want
    assert wafers["yield"].tolist() == [pct(38, 44), pct(38, 44)] == ["86.4%", "86.4%"]
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    titles = [s["title"]["text"] for s in specs]
    assert titles == ["MS4LOT: wafers", "MS4LOT: stacked fails", "bin Pareto"]
    import pyarrow as pa  # Streamlit ships a figure's datasets as Arrow IPC, out of its spec

    proto = at.get("vega_lite_chart")[0].proto
    sets = [pa.ipc.open_stream(d.data.data).read_all() for d in [*proto.datasets, proto]]
    (rows,) = [t.to_pylist() for t in sets if "w" in t.column_names]
    heads = {f"{w}: {100 * g / n:.1f}%": w for w, n, g in want}
    drawn = {(heads[r["w"]], r["x"], r["y"]): int(r["bin"].split()[0]) for r in rows}
    assert drawn == {k: d["hard_bin"] for k, d in dice.items()}


def test_wafer_page_and_a_die_s_bins(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dice = raw_dice(FIXTURE)
    (wafer, x, y), die = next((k, d) for k, d in dice.items() if k[0] == "MS4LOT-02" and not d["passed"])
    at = page([archive], "wafer", monkeypatch, wafer_wafer=wafer, wafer_die=f"{x}, {y}")
    m = metrics(at)
    wafer_dice = [d for k, d in dice.items() if k[0] == wafer]
    assert m["dice"] == str(len(wafer_dice)) == "44"
    assert m["good"] == str(sum(1 for d in wafer_dice if d["passed"])) == "38"
    text = texts(at)
    assert f"die ({x}, {y}): **fail**, hard bin {die['hard_bin']} " in text
    assert f"site {die['site']}," in text
    con = stdf_duck.connect()
    n = con.execute(
        f"SELECT (SELECT count(*) FROM stdf_ptr('{FIXTURE}') WHERE part_index = {die['part_index']}) + "
        f"(SELECT count(*) FROM stdf_ftr('{FIXTURE}') WHERE part_index = {die['part_index']})"
    ).fetchone()
    results = at.dataframe[0].value
    assert n is not None and len(results[results["pin_name"].isna()]) == n[0]


def test_tests_page_fail_counts_of_the_final_dice(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final = {d["part_index"] for d in raw_dice(FIXTURE).values()}
    con = stdf_duck.connect()
    ptr = con.execute(f"SELECT part_index, test_flg FROM stdf_ptr('{FIXTURE}') WHERE test_num = 1050").fetchall()
    execs = [flg for part, flg in ptr if part in final]
    at = page([archive], "tests", monkeypatch, tests_search="VREF", tests_test="1050:VREF")
    m = metrics(at)
    assert m["executions"] == str(len(execs))
    assert m["fails"] == str(sum(1 for flg in execs if flg & 0x80))
    assert "1 of 11 test rows" in texts(at)


def _bins_table(at: AppTest) -> dict[int, int]:
    return {int(r["bin"]): int(r["dice"]) for r in at.table[0].value.to_dict("records")}


def test_bins_page_of_the_fixture(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dice = raw_dice(FIXTURE)
    at = page([archive], "bins", monkeypatch)
    assert _bins_table(at) == {1: 76, 2: 10, 3: 2} == dict(Counter(d["hard_bin"] for d in dice.values()))
    by_site = at.table[1].value
    for r in by_site.to_dict("records"):
        for site in (1, 2, 3, 4):
            want = sum(1 for d in dice.values() if d["site"] == site and d["hard_bin"] == r["bin_num"])
            assert r[f"site 1/{site}"] == want
    soft = page([archive], "bins", monkeypatch, bins_type="soft")
    assert _bins_table(soft) == dict(Counter(d["soft_bin"] for d in dice.values()))


def test_bins_page_of_a_real_file(monkeypatch: pytest.MonkeyPatch) -> None:
    if not LOT2.exists():
        pytest.skip(f"{LOT2} is absent")
    dice = raw_dice(LOT2)
    at = page([LOT2], "bins", monkeypatch)
    assert _bins_table(at) == dict(Counter(d["hard_bin"] for d in dice.values()))
    over = page([LOT2], "overview", monkeypatch)
    assert metrics(over)["dice"] == str(len(dice))
    assert metrics(over)["good"] == str(sum(1 for d in dice.values() if d["passed"]))


def test_files_page_ledger_and_files(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page([archive], "files", monkeypatch)
    assert metrics(at) == {"files": "1", "ok": "1"}
    assert at.dataframe[0].value["path"].tolist() == [str(FIXTURE)]
    con = stdf_duck.connect()
    n_prr = con.execute(f"SELECT count(*) FROM stdf_prr('{FIXTURE}')").fetchone()
    files = page([FIXTURE], "files", monkeypatch)
    assert metrics(files)["files"] == "1"
    assert files.table[0].value["n_parts"].tolist() == [n_prr[0] if n_prr else None]


def _run_sql(at: AppTest, sql: str) -> AppTest:
    at.text_area(key="sql_text").set_value(sql)
    at.button(key="sql_run").click()
    at.run()
    return at


def test_sql_page_runs_one_select_and_refuses_the_rest(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page([archive], "sql", monkeypatch)
    _run_sql(at, "SELECT count(*) AS n FROM parts")
    assert at.dataframe[0].value["n"].tolist() == [94]  # 94 PRRs (README)
    at.number_input(key="sql_limit").set_value(5)
    _run_sql(at, "SELECT * FROM parts")
    assert "5 rows (the first 5: the row limit)" in texts(at)
    for bad in (
        "DROP VIEW parts",
        "SELECT 1; SELECT 2",
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM stdf_parts('{FIXTURE}')",
        "COPY parts TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.duckdb'",
        "SET threads = 1",
    ):
        _run_sql(at, bad)
        assert at.error and "refused or failed" in at.error[0].value, bad
    files = page([FIXTURE], "sql", monkeypatch)
    _run_sql(files, "SELECT * FROM glob('/*')")
    assert files.error, "glob('/') on the files source"


def test_export_page_writes_the_selection(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page([archive], "export", monkeypatch, export_shape="pivot")
    at.button(key="export_run").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert "88 dice rows" in texts(at)  # one row per final die
    final = {d["part_index"] for d in raw_dice(FIXTURE).values()}
    con = stdf_duck.connect()
    ptr = con.execute(f"SELECT part_index FROM stdf_ptr('{FIXTURE}')").fetchall()
    ftr = con.execute(f"SELECT part_index FROM stdf_ftr('{FIXTURE}')").fetchall()
    mpr = con.execute(f"SELECT part_index, len(rtn_rslt) FROM stdf_mpr('{FIXTURE}')").fetchall()
    want = sum(1 for (p,) in ptr + ftr if p in final) + sum(n for p, n in mpr if p in final)
    long = page([archive], "export", monkeypatch, export_format="Parquet")
    long.button(key="export_run").click()
    long.run()
    assert f"{want} results rows" in texts(long)
    vref = con.execute(f"SELECT part_index FROM stdf_ptr('{FIXTURE}') WHERE test_num = 1050").fetchall()
    one = page([archive], "export", monkeypatch, export_tests=[1050])
    one.button(key="export_run").click()
    one.run()
    assert f"{sum(1 for (p,) in vref if p in final)} results rows" in texts(one)


def test_every_page_answers_quickly_on_the_fixture_archive(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page's answer time (a fresh session, the process's caches warm as on a running
    server): printed, and under 2 s here (a shared machine; the 1,000-file figure is measured on
    bench/data)."""
    times = {}
    for name in PAGES:
        page([archive], name, monkeypatch)  # warm the caches
        t0 = time.perf_counter()
        page([archive], name, monkeypatch)
        times[name] = time.perf_counter() - t0
    print("page seconds:", {k: round(v, 3) for k, v in times.items()})
    assert max(times.values()) < 2.0, times


def test_warming_draws_each_page_s_first_view_into_the_cache(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdf_duck.web.warm draws every page outside a session: a visitor's first view of each page
    afterwards asks the analysis layer nothing (without warming it does)."""
    import streamlit as st

    from stdf_duck import analysis
    from stdf_duck.web import warm

    monkeypatch.setenv(SOURCE_ENV, json.dumps([str(archive)]))
    calls: list[str] = []
    for name in ("yield_", "bin_pareto", "test_stats", "wafer_map", "insertions"):
        real = getattr(analysis, name)
        monkeypatch.setattr(
            analysis, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k)
        )

    def visit_every_page() -> None:
        for name in PAGES:
            page([archive], name, monkeypatch)

    st.cache_data.clear()
    visit_every_page()
    assert {"yield_", "bin_pareto", "test_stats"} <= set(calls), calls
    st.cache_data.clear()
    calls.clear()
    took = warm.warm()
    assert list(took) == list(PAGES) and calls
    assert "failed" not in capsys.readouterr().err
    calls.clear()
    visit_every_page()
    assert calls == []


def test_web_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from stdf_duck.cli.main import cli
    from stdf_duck.cli.web import streamlit_argv

    res = CliRunner().invoke(cli, ["web", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "no such file" in res.output
    res = CliRunner().invoke(cli, ["web"])
    assert res.exit_code == 2
    argv = streamlit_argv(8999, "127.0.0.1")
    assert argv[argv.index("run") + 1] == APP and "8999" in argv


def test_a_running_dashboard_shows_what_a_writer_adds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answers are cached per generation of the archive's catalog: files materialized after the
    dashboard opened show at its next run (the catalog is looked at every REFRESH seconds)."""
    from stdf_duck.api.db import REFRESH
    from stdf_duck.archive import materialize

    root = tmp_path / "arch"
    assert materialize([str(FIXTURE)], root, workers=1).ok
    overview, files = page([root], "overview", monkeypatch), page([root], "files", monkeypatch)
    assert metrics(overview)["dice"] == "88" and metrics(files) == {"files": "1", "ok": "1"}
    assert materialize([str(FIXTURES / "mpr_ftr.stdf")], root, workers=1).ok
    time.sleep(REFRESH + 0.2)
    overview.run()
    files.run()
    # + the parts "1" to "3" of lot MPRFTR, one insertion each (tests/fixtures/README.md)
    assert metrics(overview)["dice"] == "91"
    assert sorted(overview.dataframe[0].value["lot_id"]) == ["MPRFTR", "MS4LOT"]
    assert metrics(files) == {"files": "2", "ok": "2"}
