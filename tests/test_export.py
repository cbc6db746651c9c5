"""stdf_duck.analysis.export and `stdf-duck export`: long and pivot exports read back (csv,
openpyxl, pyarrow) and checked against an independent computation from the raw records.

The independent side reads only raw record tables (stdf_prr, stdf_ptr, in record order) and
works out in Python what the export must hold: a PTR belongs to the next PRR of its head/site in
record order (the spec's PIR..PRR bracket), a die is its (x, y) on the file's one wafer, its final
insertion the last PRR of that (x, y), a test's limits and units those of its first PTR (the
spec's default limits, none where its OPT_FLAG says so), a die's value the first result of the test in its bracket.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
from bisect import bisect_left
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import real_file

import stdf_duck
from stdf_duck.analysis.export import DIE_COLUMNS, HEADER_ROWS, LABEL_COLUMN, PARQUET_KEY, TEST_COLUMNS, export
from stdf_duck.cli.main import main

LOT2 = "lot2.stdf.gz"
#: the module (`stdf_duck.analysis.export` is also the function)
export_mod = importlib.import_module("stdf_duck.analysis.export")


def f32(v: Any) -> np.float32 | None:
    return None if v is None or v == "" else np.float32(float(v))


class Raw:
    """What the export of one single-wafer, PTR-only file must hold, from raw records."""

    def __init__(self, path: Path) -> None:
        con = stdf_duck.connect()
        try:
            p = str(path).replace("'", "''")
            prr = con.execute(
                f"SELECT record_index, head_num, site_num, x_coord, y_coord, part_id, hard_bin, soft_bin, part_flg "
                f"FROM stdf_prr('{p}') ORDER BY record_index"
            ).fetchall()
            ptr = con.execute(
                f"SELECT record_index, head_num, site_num, test_num, result, lo_limit, hi_limit, units, opt_flag "
                f"FROM stdf_ptr('{p}') ORDER BY record_index"
            ).fetchall()
        finally:
            con.close()
        assert len({(r[1], r[2]) for r in prr + ptr}) == 1, "one head/site: brackets are plain record order"
        self.n_parts = len(prr)
        prr_at = [r[0] for r in prr]
        final: dict[tuple[int, int], tuple[Any, ...]] = {}
        for r in prr:
            final[(r[3], r[4])] = r  # the last PRR of a die is its final insertion
        self.dice = final
        final_at = {r[0] for r in final.values()}
        self.values: dict[tuple[int, int], dict[int, np.float32 | None]] = {xy: {} for xy in final}
        self.limits: dict[int, tuple[Any, Any, Any]] = {}
        self.long: list[tuple[int, int, int, np.float32 | None]] = []
        xy_of = {r[0]: (r[3], r[4]) for r in prr}
        for rec, _h, _s, num, result, lo, hi, units, opt in ptr:
            # OPT_FLAG bits 4/6 (5/7): no valid low (high) limit on the test's first PTR
            opt = opt or 0
            self.limits.setdefault(num, (None if opt & 0x50 else f32(lo), None if opt & 0xA0 else f32(hi), units))
            owner = prr_at[bisect_left(prr_at, rec)]
            if owner not in final_at:
                continue
            xy = xy_of[owner]
            self.values[xy].setdefault(num, f32(result))
            self.long.append((xy[0], xy[1], num, f32(result)))


@pytest.fixture(scope="module")
def lot2() -> Path:
    return real_file(LOT2)


@pytest.fixture(scope="module")
def raw(lot2: Path) -> Raw:
    return Raw(lot2)


def _check_pivot(header: list[list[Any]], data: list[list[Any]], raw: Raw) -> None:
    """The header rows and every cell of a pivot (test_key 'number') against `raw`."""
    names = header[0]
    assert names[0] == LABEL_COLUMN and tuple(names[1 : 1 + len(DIE_COLUMNS)]) == DIE_COLUMNS
    assert [h[0] for h in header[1:]] == list(HEADER_ROWS)
    tests = [int(n) for n in names[1 + len(DIE_COLUMNS) :]]
    assert tests == sorted(raw.limits), "every test of the file, by test number"
    field = {name: i for i, name in enumerate(HEADER_ROWS, start=1)}
    first = 1 + len(DIE_COLUMNS)
    for j, num in enumerate(tests, start=first):
        lo, hi, units = raw.limits[num]
        assert int(header[field["test_num"]][j]) == num
        assert f32(header[field["lo_limit"]][j]) == lo and f32(header[field["hi_limit"]][j]) == hi
        assert (header[field["units"]][j] or None) == (units or None)
        assert not header[field["pin_name"]][j]
    assert len(data) == len(raw.dice), "one row per final die"
    col = {c: i for i, c in enumerate(names)}
    seen = set()
    for row in data:
        assert not row[0]
        xy = (int(row[col["x_coord"]]), int(row[col["y_coord"]]))
        seen.add(xy)
        prr = raw.dice[xy]
        assert int(row[col["hard_bin"]]) == prr[6] and int(row[col["soft_bin"]]) == prr[7]
        assert str(row[col["part_id"]]) == prr[5]
        assert str(row[col["part_passed"]]).lower() == str(not prr[8] & 0x08).lower()
        for j, num in enumerate(tests, start=first):
            assert f32(row[j]) == raw.values[xy].get(num), (xy, num)
    assert seen == set(raw.dice)
    assert sum(len(v) for v in raw.values.values()) > 10_000, "the check compared real values"


def test_pivot_csv_round_trip(lot2: Path, raw: Raw, tmp_path: Path) -> None:
    out = tmp_path / "pivot.csv"
    res = export(lot2, out, "pivot", test_key="number")
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    n = 1 + len(HEADER_ROWS)
    _check_pivot(rows[:n], rows[n:], raw)
    assert res.rows == len(raw.dice) and len(res.tests) == len(raw.limits)
    assert os.listdir(tmp_path) == ["pivot.csv"], "no temporary file left"


def test_pivot_runs_under_a_memory_limit(lot2: Path, raw: Raw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pivot's aggregation and sort run under PIVOT_MEMORY (here far below what they hold in
    memory otherwise; lower still it runs out): the same cells, no file left behind, the
    connection's default limit back."""
    import importlib

    from stdf_duck.analysis import Source

    monkeypatch.setattr(importlib.import_module("stdf_duck.analysis.export"), "PIVOT_MEMORY", "64MB")
    out = tmp_path / "pivot.csv"
    with Source(lot2) as src:
        before = src.con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()
        export(src, out, "pivot", test_key="number")
        after = src.con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()
        assert after == before
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    n = 1 + len(HEADER_ROWS)
    _check_pivot(rows[:n], rows[n:], raw)
    assert os.listdir(tmp_path) == ["pivot.csv"], "no temporary file left"


def test_pivot_xlsx_round_trip(lot2: Path, raw: Raw, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "pivot.xlsx"
    export(lot2, out, "pivot", test_key="number")
    ws = openpyxl.load_workbook(out, read_only=False).active
    assert ws.freeze_panes == "N8", "header rows and die columns frozen"
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    n = 1 + len(HEADER_ROWS)
    _check_pivot(rows[:n], rows[n:], raw)
    assert isinstance(rows[n][1 + len(DIE_COLUMNS)], float), "results are numbers in Excel"


def test_pivot_default_key_and_parquet_metadata(lot2: Path, raw: Raw, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "pivot.parquet"
    export(lot2, out, "pivot")
    table = pq.read_table(out)
    assert table.num_rows == len(raw.dice)
    meta = json.loads(table.schema.metadata[PARQUET_KEY.encode()])
    tests = table.column_names[len(DIE_COLUMNS) :]
    assert tuple(table.column_names[: len(DIE_COLUMNS)]) == DIE_COLUMNS
    assert [m["label"] for m in meta] == tests
    assert [m["test_num"] for m in meta] == sorted(raw.limits)
    for m in meta:  # number_name: the number then the name
        assert m["label"].startswith(f"{m['test_num']}:") and m["label"] == m["test_key"]
        assert (f32(m["lo_limit"]), f32(m["hi_limit"])) == raw.limits[m["test_num"]][:2]
    xs, ys = table.column("x_coord").to_pylist(), table.column("y_coord").to_pylist()
    for k, m in enumerate(meta[:5]):
        values = table.column(tests[k]).to_pylist()
        for x, y, v in zip(xs, ys, values, strict=True):
            assert f32(v) == raw.values[(x, y)].get(m["test_num"])


def test_long_csv_and_parquet(lot2: Path, raw: Raw, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    expected = sorted(raw.long, key=repr)
    res = export(lot2, tmp_path / "long.csv")
    with open(tmp_path / "long.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == DIE_COLUMNS + TEST_COLUMNS
    assert res.rows == len(rows) == len(raw.long)
    got = [(int(r["x_coord"]), int(r["y_coord"]), int(r["test_num"]), f32(r["result"])) for r in rows]
    assert sorted(got, key=repr) == expected
    one = rows[0]
    lo, hi, units = raw.limits[int(one["test_num"])]
    assert (f32(one["lo_limit"]), f32(one["hi_limit"]), one["units"]) == (lo, hi, units)

    export(lot2, tmp_path / "long.parquet", "long")
    t = pq.read_table(tmp_path / "long.parquet")
    assert tuple(t.column_names) == DIE_COLUMNS + TEST_COLUMNS
    cols = [t.column(c).to_pylist() for c in ("x_coord", "y_coord", "test_num", "result")]
    got = [(x, y, n, f32(v)) for x, y, n, v in zip(*cols, strict=True)]
    assert sorted(got, key=repr) == expected


def test_selection_and_all_insertions(lot2: Path, raw: Raw, tmp_path: Path) -> None:
    key_1010 = next(c.test_key for c in export(lot2, tmp_path / "keys.parquet", "pivot").tests if c.test_num == 1010)
    res = export(lot2, tmp_path / "two.csv", "pivot", tests=[1000, key_1010])  # a number and a key
    assert [c.test_num for c in res.tests] == [1000, 1010]
    assert res.rows == len(raw.dice)
    every = export(lot2, tmp_path / "all.parquet", "pivot", all_insertions=True, tests=["1000"])
    assert every.rows == raw.n_parts, "one row per insertion (PRR)"
    kept = sum(1 for v in raw.values.values() if 1000 in v)
    import pyarrow.parquet as pq

    long = export(lot2, tmp_path / "l.parquet", tests=["1000"], site=0)
    assert long.rows == kept == pq.read_table(tmp_path / "l.parquet").num_rows
    assert export(lot2, tmp_path / "none.csv", site=7).rows == 0


def test_long_xlsx_and_the_excel_limit(lot2: Path, raw: Raw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    out = tmp_path / "long.xlsx"
    export(lot2, out, tests=["1000", "1010"])
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == DIE_COLUMNS + TEST_COLUMNS and ws.freeze_panes == "A2"
    want = sorted((x, y, n, v) for x, y, n, v in raw.long if n in (1000, 1010))
    i = {c: k for k, c in enumerate(rows[0])}
    got = sorted((r[i["x_coord"]], r[i["y_coord"]], r[i["test_num"]], f32(r[i["result"]])) for r in rows[1:])
    assert got == want
    monkeypatch.setattr(export_mod, "EXCEL_ROWS", 100)
    with pytest.raises(ValueError, match="do not fit in an Excel sheet"):
        export(lot2, tmp_path / "big.xlsx")
    assert sorted(os.listdir(tmp_path)) == ["long.xlsx"], "nothing written when refused"


def test_cli_export(lot2: Path, raw: Raw, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.csv"
    assert main(["export", str(lot2), "--shape", "pivot", "--test-key", "number", "--to", str(out)]) == 0
    assert f"{len(raw.dice):,} dice" in capsys.readouterr().err
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + len(HEADER_ROWS) + len(raw.dice)
    bad = [
        (["export", str(lot2), "--to", str(tmp_path / "x.txt")], 2, "name it .csv, .parquet or .xlsx"),
        (["export", str(lot2), "--to", str(tmp_path / "no" / "x.csv")], 2, "no directory"),
        (["export", "--to", str(tmp_path / "x.csv")], 2, "give STDF files"),
        (["export", str(lot2), "--to", str(tmp_path / "x.csv"), "--from", "2001-13-01"], 2, "--from must be a date"),
        (["export", str(tmp_path / "absent.stdf"), "--to", str(tmp_path / "x.csv")], 1, "absent.stdf"),
    ]
    for argv, code, message in bad:
        assert main(argv) == code, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert message in err[-1], err
        assert len([e for e in err if e.startswith("stdf-duck: error:")]) <= 1
    assert sorted(os.listdir(tmp_path)) == ["p.csv"], "a failed export leaves no file"
    assert main(["export", "--help"]) == 0
    text = capsys.readouterr().out
    assert "stdf-duck export --archive arch --lot L123 --shape pivot --to L123.xlsx" in text


def test_cli_date_filters(lot2: Path, raw: Raw, tmp_path: Path) -> None:
    # the file starts on 2001-06-05 (MIR START_T): inside [06-05, 06-05], outside from 06-06
    inside = tmp_path / "in.parquet"
    assert main(["export", str(lot2), "--from", "2001-06-05", "--until", "2001-06-05", "--to", str(inside)]) == 0
    import pyarrow.parquet as pq

    assert pq.read_table(inside).num_rows == len(raw.long)
    outside = tmp_path / "out.csv"
    assert main(["export", str(lot2), "--from", "2001-06-06", "--to", str(outside)]) == 0
    assert outside.read_text().count("\n") == 1, "the header only"
