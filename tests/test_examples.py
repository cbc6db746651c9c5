"""The SQL of examples/ runs against the committed multi-site fixture and answers what its README says."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from conftest import FIXTURES, REPO

import stdf_duck

EXAMPLES = REPO / "examples"
LOT = FIXTURES / "multisite_le.stdf"

if not LOT.is_file():
    pytest.skip("tests/fixtures/multisite_le.stdf is absent", allow_module_level=True)


@pytest.fixture(scope="module")
def con() -> Any:
    c = duckdb.connect()
    for table in ("files", "parts", "results", "tests", "bins", "wafers"):
        c.register(table, stdf_duck.read(table, LOT))
    yield c
    c.close()


def run(con: Any, name: str) -> list[tuple[Any, ...]]:
    return con.execute((EXAMPLES / name).read_text()).fetchall()


def test_every_example_runs(con: Any) -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.sql"))
    assert names, "no examples/*.sql"
    for name in names:
        assert run(con, name), name


def test_files_summary(con: Any) -> None:
    (row,) = run(con, "files_summary.sql")
    assert row[0] == "multisite_le.stdf"
    assert row[1] == "MS4LOT"


def test_yield_per_wafer(con: Any) -> None:
    # README: wafer MS4LOT-01: parts 49, good 38, re-probes 5, dice 44; MS4LOT-02: 45, 38, 1, 44
    rows = run(con, "yield_per_wafer.sql")
    got = {r[1]: (r[2], r[3], r[4], r[5]) for r in rows}
    assert got == {"MS4LOT-01": (49, 5, 44, 38), "MS4LOT-02": (45, 1, 44, 38)}


def test_bin_pareto(con: Any) -> None:
    # README: final hard bins 1: 76, 2: 10, 3: 2 (bin 4 has no final die), 88 dice
    rows = run(con, "bin_pareto.sql")
    by_hard: dict[int, int] = {}
    for _soft, _, hard, _, _, n, _, _ in rows:
        by_hard[hard] = by_hard.get(hard, 0) + n
    assert by_hard == {1: 76, 2: 10, 3: 2}
    assert rows[-1][-1] == 100.0


def test_top_failing_tests(con: Any) -> None:
    # README: failures per test 1000: 1, 1010: 4, 1020: 2, 1030: 4, 1040: 1, 1050: 3, 1060: 1, 1070: 2
    rows = run(con, "top_failing_tests.sql")
    assert {r[0]: (r[3], r[4]) for r in rows} == {
        1000: (94, 1),
        1010: (93, 4),
        1020: (89, 2),
        1030: (87, 4),
        1040: (83, 1),
        1050: (82, 3),
        1060: (79, 1),
        1070: (78, 2),
    }
    assert [r[4] for r in rows] == sorted((r[4] for r in rows), reverse=True)


def test_site_means(con: Any) -> None:
    # the PTR with the most values is 1020 IDD_ACTIVE (89 values); one row per site (1-4)
    rows = run(con, "site_means.sql")
    assert [r[3] for r in rows] == [1, 2, 3, 4]
    assert {r[0] for r in rows} == {1020}
    assert sum(r[4] for r in rows) == 89


def test_wafer_map(con: Any) -> None:
    rows = run(con, "wafer_map.sql")
    assert {r[0] for r in rows} == {"MS4LOT-01"}
    assert len(rows) == 44  # dice of the wafer, each at its final insertion
    assert len({(r[1], r[2]) for r in rows}) == 44
