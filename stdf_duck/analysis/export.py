"""Export of test results to CSV, Parquet or Excel, in two shapes (`export`).

- **long**: one row per result of the final dice (stdf_test_results): the die's columns
  (`DIE_COLUMNS`) then the test's (`TEST_COLUMNS`). CSV and Parquet are written by DuckDB `COPY`,
  which streams: memory stays bounded whatever the input's size. Excel is streamed in batches by
  xlsxwriter in constant-memory mode, and refused above Excel's 1,048,576 rows.
- **pivot**: one row per die (every final die, with or without results), the die's columns first,
  then one column per test (per pin for MPR: `test_key@pin_name`), ordered by test number then
  key. A cell holds the die's first result of that test in record order; FTR columns hold
  `PASS`/`FAIL`. CSV and Excel start with the header rows engineers expect above the data
  (`HEADER_ROWS`: test_num, test_name, pin_name, units, lo_limit, hi_limit), labelled in a first
  column named `row` that is empty on the data rows (pandas: `read_csv(f, skiprows=range(1, 7))`);
  Excel freezes the header rows and the die columns. Parquet has no header rows: the test columns'
  metadata is a JSON list stored in the file's key-value metadata under `PARQUET_KEY`
  (`pyarrow.parquet.read_schema(f).metadata[b"stdf_duck.tests"]`, or DuckDB
  `parquet_kv_metadata(f)`), one object per test column with the keys of `TestColumn`.

Limits and units of a pivot column are the most frequent ones of its results (as in
stdf_test_stats). A pivot is a hash aggregation of every die's results and a sort: it runs under a
DuckDB memory limit (`PIVOT_MEMORY`, env STDF_DUCK_PIVOT_MEMORY; the Source spills to a folder of
its own), so that a pivot larger than memory goes to disk instead of growing the process. Every
output is written to a temporary file next to the target, renamed over it only when complete.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from .._output import atomic_output
from .reports import DIE_KEYS, TEST_KEYS, _filters
from .source import Source, as_source, literal

SHAPES = ("long", "pivot")
#: file suffix -> format
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
#: the die's columns, first in both shapes (`part_passed`: the die's pass/fail)
DIE_COLUMNS = (
    "lot_id", "wafer_id", "x_coord", "y_coord", "part_id", "head_num", "site_num", "hard_bin", "soft_bin",
    "part_passed", "insertion", "file_path",
)  # fmt: skip
#: the test's columns of the long shape (`passed`: the result's pass/fail)
TEST_COLUMNS = (
    "rec_type", "test_key", "test_num", "test_name", "pin_name", "units", "lo_limit", "hi_limit", "result", "passed",
)  # fmt: skip
#: the header rows of a pivot above its data (CSV, Excel), in this order
HEADER_ROWS = ("test_num", "test_name", "pin_name", "units", "lo_limit", "hi_limit")
#: the first column of a pivot CSV / Excel sheet: the header rows' labels, empty on data rows
LABEL_COLUMN = "row"
#: the Parquet key-value metadata key of a pivot's test columns
PARQUET_KEY = "stdf_duck.tests"
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
_FLOATS = ("lo_limit", "hi_limit", "result")
_COLS_TABLE = "__stdf_duck_export_cols"
#: DuckDB's memory limit while a pivot runs (its aggregation and sort spill beyond it)
PIVOT_MEMORY = os.environ.get("STDF_DUCK_PIVOT_MEMORY", "512MB")
_BATCH = 8192


@dataclass(frozen=True)
class TestColumn:
    """One test column of a pivot: its header `label`, identity and metadata."""

    label: str
    rec_type: str
    test_key: str
    test_num: int | None
    test_name: str | None
    pin_name: str | None
    units: str | None
    lo_limit: float | None
    hi_limit: float | None


@dataclass(frozen=True)
class ExportResult:
    """What `export` wrote: `rows` data rows (results or dice) and, for a pivot, its test columns."""

    path: str
    format: str
    shape: str
    rows: int
    tests: tuple[TestColumn, ...] = ()


def export(
    source: Any,
    path: str | os.PathLike[str],
    shape: str = "long",
    *,
    test_key: str = "number_name",
    all_insertions: bool = False,
    tests: Sequence[str | int] | None = None,
    format: str | None = None,
    **filters: Any,
) -> ExportResult:
    """Write the test results of `source` (files, globs, an archive folder or a `Source`) to
    `path` in `shape` 'long' or 'pivot' (see the module doc); the format is `format` ('csv',
    'parquet', 'xlsx') or the suffix of `path`.

    `filters` are the analyses' (die_key, product, stage, lot, wafer, site, date_from, date_to);
    `test_key` the test identity policy; `all_insertions` exports every insertion of every die
    instead of the final ones; `tests` keeps the tests whose test_key or test number is listed.
    """
    out = os.fspath(path)
    fmt = format_of(out, format)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"cannot write {out}: no directory {parent}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be 'long' or 'pivot', not {shape!r}")
    query = _Query.make(test_key, all_insertions, tests, _filters(dict(filters)))
    src, owned = as_source(source)
    try:
        with atomic_output(out) as tmp:
            if shape == "long":
                return _export_long(src, query, out, tmp, fmt)
            return _export_pivot(src, query, out, tmp, fmt)
    finally:
        if owned:
            src.close()


def format_of(path: str, format: str | None = None) -> str:
    """The output format: `format` when given, else from the suffix of `path`."""
    if format is not None:
        if format not in FORMATS.values():
            raise ValueError(f"format must be 'csv', 'parquet' or 'xlsx', not {format!r}")
        return format
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the format of {path!r}: name it .csv, .parquet or .xlsx")
    return FORMATS[suffix]


@dataclass(frozen=True)
class _Query:
    """The SQL of one export: the macro calls with their arguments and the test selection."""

    call: str  # stdf_test_results(...), read as `t`
    where: str  # the test selection on `t`
    dice: str  # FROM stdf_dice(...) / stdf_insertions(...) AS d [WHERE <site>]

    @property
    def results(self) -> str:
        return f"FROM {self.call} AS t WHERE {self.where}"

    @staticmethod
    def make(test_key: str, all_insertions: bool, tests: Sequence[str | int] | None, filters: dict[str, Any]) -> _Query:
        if test_key not in TEST_KEYS:
            raise ValueError(f"test_key must be one of {', '.join(TEST_KEYS)}, not {test_key!r}")
        die_key = filters.get("die_key") or "xy"
        if die_key not in DIE_KEYS:
            raise ValueError(f"die_key must be one of {', '.join(DIE_KEYS)}, not {die_key!r}")
        given = {k: v for k, v in filters.items() if v is not None}
        site = given.pop("site", None)
        dice_args = ", ".join(f"{k} := {literal(v)}" for k, v in given.items())
        res_args = ", ".join(
            f"{k} := {literal(v)}"
            for k, v in {**given, "test_key": test_key, "final_only": not all_insertions, "site": site}.items()
            if v is not None
        )
        dice = f"FROM stdf_{'insertions' if all_insertions else 'dice'}({dice_args}) AS d"
        if site is not None:
            dice += f" WHERE d.site_num = {literal(site)}"
        return _Query(f"stdf_test_results({res_args})", _selection(tests), dice)


def _selection(tests: Sequence[str | int] | None) -> str:
    """The WHERE condition of `tests` (test_key or test number), TRUE when none."""
    if not tests:
        return "true"
    keys = [str(t) for t in tests]
    nums = sorted({int(k) for k in keys if k.strip().isdigit()})
    cond = f"list_contains({literal(keys)}::VARCHAR[], t.test_key)"
    if nums:
        cond += f" OR list_contains({literal(nums)}::BIGINT[], t.test_num)"
    return f"({cond})"


def _export_long(src: Source, q: _Query, out: str, tmp: str, fmt: str) -> ExportResult:
    cols = [f"t.{c}" for c in DIE_COLUMNS]
    test_cols = [f"t.{c}" for c in TEST_COLUMNS]
    if fmt == "xlsx":  # a FLOAT as its shortest decimal text, not as the double it widens to
        test_cols = [
            f"CAST(CAST(t.{c} AS VARCHAR) AS DOUBLE) AS {c}" if c in _FLOATS else f"t.{c}" for c in TEST_COLUMNS
        ]
    sql = f"SELECT {', '.join(cols + test_cols)} {q.results}"
    if fmt == "xlsx":
        n = _scalar(src, f"SELECT count(*) {q.results}")
        if n + 1 > EXCEL_ROWS:
            raise ValueError(
                f"{n:,} results do not fit in an Excel sheet ({EXCEL_ROWS - 1:,} rows at most): "
                "export to .csv or .parquet, or select fewer (--lot, --wafer, --tests)"
            )
        rows = _write_xlsx(src, sql, [list(DIE_COLUMNS + TEST_COLUMNS)], tmp, (1, 0), "results")
    else:
        rows = _copy(src, sql, tmp, fmt, header=True)
    return ExportResult(out, fmt, "long", rows)


def _copy(src: Source, sql: str, tmp: str, fmt: str, header: bool, kv: dict[str, str] | None = None) -> int:
    """COPY `sql` to `tmp` (streamed by DuckDB); the number of rows written."""
    if fmt == "csv":
        options = f"FORMAT csv, HEADER {'true' if header else 'false'}"
    else:
        options = "FORMAT parquet, COMPRESSION zstd"
        if kv:
            options += ", KV_METADATA {" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in kv.items()) + "}"
    return _scalar(src, f"COPY ({sql}) TO {literal(tmp)} ({options})")


def _scalar(src: Source, sql: str) -> int:
    row = (src.con.execute(sql).fetchall() or [None])[0]
    return int(row[0]) if row else 0


def _columns(src: Source, q: _Query) -> list[TestColumn]:
    """The pivot's test columns (numbered in the temporary table _COLS_TABLE, in column order)."""
    src.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_COLS_TABLE} AS
        WITH t AS (
            SELECT t.rec_type, t.test_key AS k, t.test_num, t.test_name, t.pin_index, t.units,
                t.lo_limit, t.hi_limit, {_PIN} AS pin
            {q.results}
        )
        SELECT CAST(row_number() OVER (ORDER BY min(test_num), k, min(pin_index), pin, rec_type) AS INTEGER) AS c,
            rec_type, k, pin, min(test_num) AS test_num, mode(test_name) AS test_name, mode(units) AS units,
            CAST(CAST(mode(lo_limit) AS VARCHAR) AS DOUBLE) AS lo_limit,
            CAST(CAST(mode(hi_limit) AS VARCHAR) AS DOUBLE) AS hi_limit
        FROM t GROUP BY rec_type, k, pin
    """)
    rows = src.con.execute(
        f"SELECT rec_type, k, pin, test_num, test_name, units, lo_limit, hi_limit FROM {_COLS_TABLE} ORDER BY c"
    ).fetchall()
    labels = [k + (f"@{pin}" if pin is not None else "") for _, k, pin, *_ in rows]
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    taken = {*DIE_COLUMNS, LABEL_COLUMN}
    out = []
    for label, (rec_type, k, pin, num, name, units, lo, hi) in zip(labels, rows, strict=True):
        if seen[label] > 1 or label in taken:  # a PTR and an FTR of one key, or a test named like a die column
            label = f"{label} [{rec_type}]"
        out.append(TestColumn(label, rec_type, k, num, name, pin, units, lo, hi))
    return out


#: the pin of a result as a pivot column knows it (MPR only)
_PIN = "CASE WHEN t.rec_type = 'MPR' THEN coalesce(t.pin_name, '#' || t.pin_index) END"


def _pivot_sql(q: _Query, cols: list[TestColumn], fmt: str) -> str:
    """One row per die: the die's columns, then one column per test (from _COLS_TABLE)."""
    die = ", ".join(f"d.{c}" if c != "part_passed" else "d.passed AS part_passed" for c in DIE_COLUMNS)
    base = f"SELECT d.file_id, d.part_index, d.start_time, {die} {q.dice}"
    if not cols:
        return f"SELECT {', '.join(DIE_COLUMNS)} FROM ({base}) AS d ORDER BY d.start_time NULLS LAST, d.file_path, d.part_index"
    values = f"""
        SELECT t.file_id, t.part_index, c.c,
            arg_min_null(t.result, t.record_index) AS v,
            arg_min_null(CASE WHEN t.passed THEN 'PASS' WHEN NOT t.passed THEN 'FAIL' END, t.record_index) AS pf
        FROM {q.call} AS t
        JOIN {_COLS_TABLE} AS c ON c.rec_type = t.rec_type AND c.k = t.test_key AND c.pin IS NOT DISTINCT FROM {_PIN}
        WHERE {q.where}
        GROUP BY t.file_id, t.part_index, c.c
    """
    ids = ", ".join(str(i) for i in range(1, len(cols) + 1))
    pivot = f"PIVOT ({values}) ON c IN ({ids}) USING first(v) AS v, first(pf) AS pf GROUP BY file_id, part_index"
    picks = []
    for i, col in enumerate(cols, start=1):
        cell = f'p."{i}_pf"' if col.rec_type == "FTR" else f'p."{i}_v"'
        if fmt == "xlsx" and col.rec_type != "FTR":
            cell = f"CAST(CAST({cell} AS VARCHAR) AS DOUBLE)"
        picks.append(f"{cell} AS {_ident(col.label)}")
    return (
        f"SELECT {', '.join('d.' + c for c in DIE_COLUMNS)}, {', '.join(picks)} "
        f"FROM ({base}) AS d LEFT JOIN ({pivot}) AS p ON p.file_id = d.file_id AND p.part_index = d.part_index "
        "ORDER BY d.start_time NULLS LAST, d.file_path, d.part_index"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _header(cols: list[TestColumn], text: bool) -> list[list[Any]]:
    """The header rows of a pivot: the column names, then HEADER_ROWS (labelled in LABEL_COLUMN)."""
    pad: list[Any] = [None] * len(DIE_COLUMNS)
    rows: list[list[Any]] = [[LABEL_COLUMN, *DIE_COLUMNS, *(c.label for c in cols)]]
    for field in HEADER_ROWS:
        values = [getattr(c, field) for c in cols]
        if text:
            values = ["" if v is None else _text(v) for v in values]
        rows.append([field, *pad, *values])
    return rows


def _text(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


@contextmanager
def _bounded(src: Source) -> Iterator[None]:
    """DuckDB's memory limit PIVOT_MEMORY on `src`'s connection (which spills to the Source's
    own folder); afterwards the default again, or the limit it had when one was set. A connection
    whose configuration is locked (the API's, the dashboard's) keeps the limit it has."""
    if _setting(src, "lock_configuration").lower() == "true":  # the API's and the dashboard's own limits hold
        yield
        return
    was = _setting(src, "memory_limit")
    src.con.execute("RESET memory_limit")
    default = _setting(src, "memory_limit")
    src.con.execute(f"SET memory_limit = {literal(PIVOT_MEMORY)}")
    try:
        yield
    finally:
        # a limit that was set comes back as DuckDB shows it (to 0.1 GiB); the default exactly
        src.con.execute("RESET memory_limit" if was == default else f"SET memory_limit = {literal(was)}")


def _setting(src: Source, name: str) -> str:
    """A DuckDB setting of `src`'s connection, as duckdb_settings() shows it."""
    return str(src.con.execute("SELECT value FROM duckdb_settings() WHERE name = ?", [name]).fetchall()[0][0])


def _export_pivot(src: Source, q: _Query, out: str, tmp: str, fmt: str) -> ExportResult:
    with _bounded(src):
        return _pivot_to(src, q, out, tmp, fmt)


def _pivot_to(src: Source, q: _Query, out: str, tmp: str, fmt: str) -> ExportResult:
    try:
        cols = _columns(src, q)
        sql = _pivot_sql(q, cols, fmt)
        if fmt == "parquet":
            meta = json.dumps([asdict(c) for c in cols], allow_nan=False)
            rows = _copy(src, sql, tmp, fmt, header=False, kv={PARQUET_KEY: meta})
        elif fmt == "csv":
            rows = _pivot_csv(src, sql, _header(cols, text=True), tmp)
        else:
            width = 1 + len(DIE_COLUMNS) + len(cols)
            if width > EXCEL_COLUMNS:
                raise ValueError(
                    f"{len(cols):,} test columns do not fit in an Excel sheet ({EXCEL_COLUMNS:,} columns at most): "
                    "export to .csv or .parquet, or select tests (--tests)"
                )
            n = _scalar(src, f"SELECT count(*) {q.dice}")
            if n + 1 + len(HEADER_ROWS) > EXCEL_ROWS:
                raise ValueError(f"{n:,} dice do not fit in an Excel sheet: export to .csv or .parquet")
            header = _header(cols, text=False)
            rows = _write_xlsx(src, sql, header, tmp, (len(header), 1 + len(DIE_COLUMNS)), "pivot", label=True)
        return ExportResult(out, fmt, "pivot", rows, tuple(cols))
    finally:
        src.con.execute(f"DROP TABLE IF EXISTS {_COLS_TABLE}")


def _pivot_csv(src: Source, sql: str, header: list[list[Any]], tmp: str) -> int:
    """The header rows written here, then the data COPYed by DuckDB and appended (both streamed)."""
    body = f"{tmp}.body"
    try:
        rows = _copy(src, f"SELECT NULL::VARCHAR AS {LABEL_COLUMN}, * FROM ({sql})", body, "csv", header=False)
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(header)
            with open(body, encoding="utf-8", newline="") as b:
                while chunk := b.read(1 << 20):
                    f.write(chunk)
        return rows
    finally:
        if os.path.exists(body):
            os.unlink(body)


def _write_xlsx(
    src: Source,
    sql: str,
    header: list[list[Any]],
    tmp: str,
    freeze: tuple[int, int],
    sheet: str,
    label: bool = False,
) -> int:
    """`header` then the rows of `sql`, fetched in batches and written by xlsxwriter in
    constant-memory mode (each row flushed as written); the number of data rows."""
    import xlsxwriter

    book = xlsxwriter.Workbook(
        tmp,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
        },
    )
    try:
        ws = book.add_worksheet(sheet)
        bold = book.add_format({"bold": True})
        for r, values in enumerate(header):
            ws.write_row(r, 0, values, bold)
        ws.freeze_panes(*freeze)
        cur = src.con.execute(sql)
        r = len(header)
        lead: tuple[Any, ...] = (None,) if label else ()
        while batch := cur.fetchmany(_BATCH):
            for values in batch:
                ws.write_row(r, 0, lead + tuple(values))
                r += 1
        return r - len(header)
    finally:
        book.close()


__all__ = [
    "DIE_COLUMNS",
    "EXCEL_ROWS",
    "FORMATS",
    "HEADER_ROWS",
    "LABEL_COLUMN",
    "PARQUET_KEY",
    "SHAPES",
    "TEST_COLUMNS",
    "ExportResult",
    "TestColumn",
    "export",
    "format_of",
]
