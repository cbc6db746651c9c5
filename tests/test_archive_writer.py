"""The native archive writer (`_native.write_archive`, rust/stdf-arrow/src/archive): one pass per
file for every archive table, results split into rows and parameter sets, sorted by test in
bounded runs.

Every check compares with the table functions (`stdf_results`, `stdf_parts`, ...), which agree with
an independent parser on these files (test_real_files.py): the archive must hold exactly their rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import stdf_duck
from stdf_duck import _native
from stdf_duck.archive import ARCHIVE_TABLES
from tests.conftest import FIXTURES, real_file

REAL = ["ayad_ws.stdf", "lot2.stdf.gz", "gdr.stdf", "WS_Virgo_7OLT36325_7OLT36325.25E4_PS1_20190110_20h59m18s.stdf"]
LOT_TABLES = ("parts", "tests", "bins", "wafers")


def write(path: Path, staging: Path, **kw: Any) -> dict[str, Any]:
    staging.mkdir(parents=True, exist_ok=True)
    return dict(_native.write_archive(str(path), str(staging), "t", "KEY", **kw))


def files_of(out: dict[str, Any], table: str) -> list[str]:
    return [str(f["path"]) for files in out["streams"] for f in files if f["table"] == table]


def joined(con: Any, out: dict[str, Any]) -> str:
    """The archive's results view over the written files, as SQL (the catalog's join)."""
    cols = [("r." if t == "results" else "p.") + c for c, t in _native.archive_result_columns() if t != "partition"]
    return (
        f"SELECT {', '.join(cols)} FROM read_parquet({files_of(out, 'results')!r}) r "
        f"JOIN read_parquet({files_of(out, 'result_params')!r}) p USING (file_id, param_id)"
    )


def contract(path: Path) -> str:
    cols = [c for c, t in _native.archive_result_columns() if t != "partition"]
    return f"SELECT {', '.join(cols)} FROM stdf_results('{path}', on_error := 'warn')"


def same_rows(con: Any, a: str, b: str) -> None:
    assert con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone() == (0,)
    assert con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone() == (0,)


@pytest.mark.parametrize("name", REAL)
def test_results_rows_and_params_give_back_stdf_results(name: str, tmp_path: Path) -> None:
    path = real_file(name)
    con = stdf_duck.connect()
    # one sorted run, and runs of 5,000 rows spilled and merged, in a writer thread
    one = write(path, tmp_path / "one")
    many = write(path, tmp_path / "many", run_rows=5000, threads=2)
    n = con.execute(f"SELECT count(*) FROM stdf_results('{path}', on_error := 'warn')").fetchone()
    assert n is not None and n[0] > 5000
    for out in (one, many):
        assert sum(int(f["rows"]) for s in out["streams"] for f in s if f["table"] == "results") == n[0]
        same_rows(con, joined(con, out), contract(path))
    # the same rows in the same order either way: by test_num, then file order
    a, b = (pq.read_table(files_of(o, "results")[0]) for o in (one, many))
    assert a.equals(b)
    keys = list(zip(*(a.column(c).to_pylist() for c in ("test_num", "record_index", "element_index")), strict=True))
    assert keys == sorted(keys, key=lambda k: (k[0], k[1], k[2] or 0))
    # a parameter set is stored once per distinct value of what the rows share
    params = sum(int(f["rows"]) for s in one["streams"] for f in s if f["table"] == "result_params")
    shared = ", ".join(c for c, t in _native.archive_result_columns() if t == "result_params")
    distinct = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT {shared} FROM stdf_results('{path}', on_error := 'warn'))"
    ).fetchone()
    assert distinct is not None and params == distinct[0]
    # the spill files are gone
    written = sorted(os.path.basename(str(f["path"])) for s in many["streams"] for f in s)
    assert sorted(os.listdir(tmp_path / "many")) == written


@pytest.mark.parametrize("name", REAL[:2])
def test_lot_tables_equal_the_table_functions(name: str, tmp_path: Path) -> None:
    path = real_file(name)
    out = write(path, tmp_path)
    con = stdf_duck.connect()
    for t in LOT_TABLES:
        (f,) = files_of(out, t)
        same_rows(
            con,
            f"SELECT * FROM read_parquet('{f}')",
            f"SELECT * EXCLUDE (part_typ, test_stage, lot_id) FROM stdf_{t}('{path}', on_error := 'warn')",
        )
    (files,) = files_of(out, "files")
    row = pq.read_table(files).to_pylist()[0]
    mir = con.execute(f"SELECT part_typ, test_stage, lot_id, file_id FROM stdf_files('{path}')").fetchone()
    assert (row["source_part_typ"], row["source_test_stage"], row["source_lot_id"], row["file_id"]) == mir
    assert out["file_id"] == mir[3] == _native.file_id(str(path))


def test_each_stream_of_a_concatenated_file_has_its_files(tmp_path: Path) -> None:
    path = FIXTURES / "concat.stdf"
    out = write(path, tmp_path)
    con = stdf_duck.connect()
    per_stream = dict(con.execute(f"SELECT stream_index, count(*) FROM stdf_results('{path}') GROUP BY 1").fetchall())
    assert len(out["streams"]) == 2 and len(per_stream) == 2
    for s, files in enumerate(out["streams"]):
        assert [f["table"] for f in files] == list(ARCHIVE_TABLES)
        (rows,) = [f for f in files if f["table"] == "results"]
        assert rows["rows"] == per_stream[s]
    same_rows(con, joined(con, out), contract(path))


def test_a_damaged_file_fails_naming_the_offset_and_leaves_nothing(tmp_path: Path) -> None:
    path = FIXTURES / "truncated.stdf"
    with pytest.raises(_native.NativeError) as e:
        write(path, tmp_path / "s")
    msg = str(e.value)
    assert str(path) in msg and "byte" in msg.lower(), msg
    assert os.listdir(tmp_path / "s") == []
    # warn: the rows before the damage, and the damage in the warnings table
    out = write(path, tmp_path / "w", on_error="warn")
    (w,) = files_of(out, "warnings")
    codes = [r["code"] for r in pq.read_table(w).to_pylist()]
    assert "truncated" in codes
    assert pq.read_table(w).column("path").to_pylist() == ["KEY"] * len(codes)
