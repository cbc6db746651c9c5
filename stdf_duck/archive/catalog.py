"""DIR/archive.duckdb, the file readers open: written whole, renamed into place, never changed.

It holds the analysis macros of sql/analysis/ (stdf_yield, stdf_bin_pareto, ...: a reader has
them without stdf_duck), one view per archive table (`ARCHIVE_TABLES`: parts, results, tests, bins, wafers,
warnings, files) over DIR/<table>/part_typ=*/test_stage=*/lot_id=*/*.parquet, in which the
directory value __NULL__ (a missing partition value) reads back as SQL NULL, and a copy of the
ledger's tables `SNAPSHOT_TABLES` (ingest, runs, sync_files, syncs, archive_meta) as the writer
last published them (stdf_duck.archive.ledger). A view exists once its table has files.

After each commit (at most every `PUBLISH_EVERY` seconds, and at the end of a run) the writer
writes a new catalog under a temporary name and renames it over the old one (`publish`). A reader
that has the old file open, read-only or read-write, keeps it whole: DuckDB reads it through its
open file handle, and its views read the same Parquet files, so it sees the new rows (its ledger
copy is the one of its connection time). A reader that connects later gets the new file. The writer
never opens DIR/archive.duckdb, so no reader (a dashboard, an API, the DuckDB CLI) makes a writer
wait, and no writer holds a lock a reader meets. The ledger copy lives inside the catalog rather
than in Parquet files next to it because DuckDB opens a Parquet file again by its name between
planning and reading a query: a file replaced by a rename in between is read as garbage.

The file is written in DuckDB 1.0's storage format (`ledger.STORAGE_VERSION`): every DuckDB from
1.0 on opens it, the CLI of `pip install duckdb-cli` included. Its views hold absolute paths.

`reader()` (stdf-duck query --archive, status, sync --dry-run) copies the ledger tables out of the
catalog into an in-memory database and makes the views there over the archive's actual location
(it may have moved): it holds nothing open afterwards. An archive written before the ledger had its
own file is read the same way (its ledger tables are inside its archive.duckdb).
"""

from __future__ import annotations

import glob as _glob
import hashlib
import os
import shutil
import tempfile
from typing import Any

from .._errors import ArchiveBusyError
from .._sqlsrc import analysis_sql
from ._sql import column, render, scalar, sql_literal
from .files import fsync_path, remove
from .layout import ARCHIVE_TABLES, NULL_PARTITION, PARTITION_COLUMNS
from .ledger import LEDGER_DIR, LEGACY_TABLES, SNAPSHOT_TABLES, STORAGE_VERSION, is_lock_error
from .schemas import single_schema_tables

__all__ = [
    "DB_NAME",
    "PUBLISH_EVERY",
    "attach_archive",
    "copy_ledger",
    "create_macros",
    "macro_template",
    "create_views",
    "has_files",
    "publish",
    "reader",
    "relation_macro",
    "table_glob",
]

DB_NAME = "archive.duckdb"
#: seconds between two catalogs written during a run (the end of a run always writes one)
PUBLISH_EVERY = 2.0


def table_glob(root: str, table: str) -> str:
    """The Parquet files of one table (partition depth fixed: staging files never match)."""
    return os.path.join(root, table, "*", "*", "*", "*.parquet")


def has_files(root: str, table: str) -> bool:
    return next(_glob.iglob(table_glob(root, table)), None) is not None


def create_views(con: Any, root: str, schema: str = "") -> list[str]:
    """Create the views of the archive's tables that have files, on `con` (in `schema`: an
    attached database); returns their names."""
    made = []
    root = os.path.abspath(root)
    single = single_schema_tables(con)
    for t in ARCHIVE_TABLES:
        if has_files(root, t):
            name = f"{schema}.{t}" if schema else t
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {_select(con, root, t, schema, single, None)}")
            made.append(t)
    return made


def create_macros(con: Any, schema: str) -> None:
    """The analysis macros of sql/analysis/ in the attached database `schema`, so that a reader of
    archive.duckdb alone (the DuckDB CLI, any DuckDB client) has them over the archive's views."""
    # a macro that calls another binds it when it is created: create them from inside `schema`
    was = scalar(con, "SELECT current_database()")
    con.execute(f"USE {schema}")
    try:
        for _name, text in analysis_sql():
            con.execute(text)
    finally:
        con.execute(f"USE {was}")


#: the partition directories of a narrowed glob, replaced by the relation macro's arguments
_MARKS = ("@@product@@", "@@stage@@", "@@lot@@")


def relation_macro(con: Any, root: str) -> str | None:
    """CREATE MACRO stdf_relation (sql/analysis/05_source.sql) for the archive at `root`: each
    table whose files share one schema read over the partition directories of the product, stage
    and lot asked (relation.sql), the others (and every table when none is asked) by their view.
    None when the DuckDB of `con` has no read_parquet(allow_empty) (before 2.0): the views'
    stdf_relation stays."""
    have = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'read_parquet' "
        "AND list_contains(parameters, 'allow_empty')"
    ).fetchall()
    if not have[0][0]:
        return None
    root = os.path.abspath(root)
    single = single_schema_tables(con)
    cases = []
    for t in ARCHIVE_TABLES:
        if t == "result_params" or t not in single or not has_files(root, t):
            continue
        if t == "results" and "result_params" not in single:
            continue
        cases.append(f"WHEN {sql_literal(t)} THEN {sql_literal(_select(con, root, t, '', single, _MARKS))}")
    if not cases:
        return None
    narrowed = f"CASE tbl {' '.join(cases)} END"
    for mark, arg in zip(_MARKS, ("product", "stage", "lot"), strict=True):
        narrowed = f"replace({narrowed}, {sql_literal(mark)}, stdf_glob_value({arg}))"
    return (
        "CREATE OR REPLACE MACRO stdf_relation(src, tbl, product, stage, lot) AS "
        "coalesce(CASE WHEN src = '' AND (product IS NOT NULL OR stage IS NOT NULL OR lot IS NOT NULL) "
        f"THEN {narrowed} END, 'SELECT * FROM ' || src || tbl)"
    )


def _union(table: str, single: set[str]) -> str:
    """read_parquet's union_by_name for a table: false only when its files share one schema."""
    return "false" if table in single else "true"


def _scan(con: Any, root: str, table: str, single: set[str], marks: tuple[str, ...] | None) -> str:
    """A FROM item of the table's files (scan.sql): all of them, or (`marks`) those of the
    partition directories named by the marks, after zero rows of the table's columns and types
    (relation.sql; a constant relation: no file it names can go away while a reader holds it)."""
    if marks is None:
        return render("scan", glob=sql_literal(table_glob(root, table)), union=_union(table, single), options="")
    dirs = (f"{c}={m}" for c, m in zip(PARTITION_COLUMNS, marks, strict=True))
    glob = os.path.join(root, table, *dirs, "*.parquet")
    one = render("scan", glob=sql_literal(next(_glob.iglob(table_glob(root, table)))), union="false", options="")
    columns = con.execute(f"DESCRIBE SELECT * FROM {one}").fetchall()
    typed = ", ".join(f'CAST(NULL AS {c[1]}) AS "{str(c[0]).replace(chr(34), chr(34) * 2)}"' for c in columns)
    return render(
        "relation",
        anchor=f"(SELECT {typed})",
        scan=render("scan", glob=sql_literal(glob), union="false", options=", allow_empty = true"),
    )


def _select(con: Any, root: str, table: str, schema: str, single: set[str], marks: tuple[str, ...] | None) -> str:
    """The SELECT of a table's view (view.sql; results: view_results.sql)."""
    null = sql_literal(NULL_PARTITION)
    if table != "results" or not has_files(root, "result_params"):
        return render("view", scan=_scan(con, root, table, single, marks), null=null)
    from .. import _native

    legacy = _has_legacy_results(con, root, schema)
    cols = []
    for c, where in _native.archive_result_columns():
        if where == "partition":
            cols.append(f"nullif(r.{c}, {null}) AS {c}")
        elif where == "results":
            cols.append(f"r.{c}")
        else:
            cols.append(f"coalesce(r.{c}, p.{c}) AS {c}" if legacy else f"p.{c}")
    return render(
        "view_results",
        columns=", ".join(cols),
        join="LEFT JOIN" if legacy else "JOIN",
        scan=_scan(con, root, "results", single, marks),
        params_scan=_scan(con, root, "result_params", single, marks),
    )


def _has_legacy_results(con: Any, root: str, schema: str) -> bool:
    """Whether results files of a writer before result_params are in the archive: the ledger
    (on `con`) knows them by their NULL rows_result_params; without a ledger, the files' schemas."""
    db = schema or scalar(con, "SELECT current_database()")
    have = set(
        column(
            con,
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = 'ingest'",
            [db],
        )
    )
    ingest = f"{db}.main.ingest" if schema else "ingest"
    if "outputs" in have and "rows_result_params" in have:
        sql = (
            f"SELECT count(*) FROM {ingest} WHERE rows_result_params IS NULL "
            "AND len(list_filter(outputs, lambda o: o LIKE 'results/%')) > 0"
        )
        return int(scalar(con, sql) or 0) > 0
    if "outputs" in have:
        return int(scalar(con, f"SELECT count(*) FROM {ingest} WHERE len(outputs) > 0") or 0) > 0
    sql = (
        "SELECT count(*) FROM (SELECT file_name FROM parquet_schema(?) "
        "GROUP BY file_name HAVING NOT bool_or(name = 'param_id'))"
    )
    return int(scalar(con, sql, [table_glob(root, "results")]) or 0) > 0


def publish(root: str, ledger_con: Any) -> None:
    """Write DIR/archive.duckdb anew from the writer's ledger connection: the views, and a copy
    of the ledger tables (a temporary file, then an atomic rename over the old one)."""
    root = os.path.abspath(root)
    tmp = os.path.join(root, f".{DB_NAME}.tmp-{os.getpid()}")
    for p in (tmp, f"{tmp}.wal"):
        remove(p)
    try:
        shutil.copyfile(macro_template(root, ledger_con), tmp)
        ledger_con.execute(f"ATTACH {sql_literal(tmp)} AS __stdf_catalog")
        try:
            for t in SNAPSHOT_TABLES:
                ledger_con.execute(f"CREATE TABLE __stdf_catalog.{t} AS SELECT * FROM {t}")
            create_views(ledger_con, root, "__stdf_catalog")
        finally:
            ledger_con.execute("DETACH __stdf_catalog")
        fsync_path(tmp)
        os.replace(tmp, os.path.join(root, DB_NAME))
    finally:
        for p in (tmp, f"{tmp}.wal"):
            remove(p)
    fsync_path(root, directory=True)


def macro_template(root: str, con: Any) -> str:
    """DIR/_ledger/catalog-macros-<key>.duckdb: a catalog holding the analysis macros only, which
    every publish copies and completes (binding the macros anew took most of a publish: ~50 ms of
    ~85). The key covers the SQL text, the DuckDB version and the storage format, so a file is
    never reused by another writer; older ones are removed. For a writer that holds the lock."""
    texts = [t for _p, t in analysis_sql()]
    parts = [str(scalar(con, "SELECT version()")), STORAGE_VERSION, *texts]
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    folder = os.path.join(root, LEDGER_DIR)
    path = os.path.join(folder, f"catalog-macros-{key}.duckdb")
    if os.path.isfile(path):
        return path
    for old in _glob.glob(os.path.join(folder, "catalog-macros-*")):
        remove(old)
    tmp = f"{path}.tmp-{os.getpid()}"
    con.execute(f"ATTACH {sql_literal(tmp)} AS __stdf_macros (STORAGE_VERSION {sql_literal(STORAGE_VERSION)})")
    try:
        create_macros(con, "__stdf_macros")
    finally:
        con.execute("DETACH __stdf_macros")
    fsync_path(tmp)
    os.replace(tmp, path)
    return path


def reader(root: str) -> Any:
    """An in-memory DuckDB connection with the archive's views and its ledger tables (copied from
    DIR/archive.duckdb, which it does not keep open); no stdf_* functions."""
    import duckdb

    return attach_archive(duckdb.connect(), root)


def attach_archive(con: Any, root: str) -> Any:
    """`con` with the archive's views (over its actual location) and a copy of its ledger tables in
    its database: nothing of the archive stays open. Returns `con` (closed when this fails)."""
    try:
        copy_ledger(con, root)
        create_views(con, root)
    except BaseException:
        con.close()
        raise
    return con


def copy_ledger(con: Any, root: str) -> list[str]:
    """Copy the ledger tables of DIR/archive.duckdb into `con`'s database; returns their names.
    The file is attached read-only; when some process holds it read-write (DuckDB then refuses a
    second process), a copy of it is read instead."""
    path = os.path.join(os.path.abspath(root), DB_NAME)
    tmpdir = None
    try:
        try:
            _attach(con, path)
        except ArchiveBusyError:
            tmpdir = tempfile.mkdtemp(prefix="stdf-duck-catalog-")
            copy = os.path.join(tmpdir, DB_NAME)
            shutil.copyfile(path, copy)
            if os.path.isfile(f"{path}.wal"):
                shutil.copyfile(f"{path}.wal", f"{copy}.wal")
            _attach(con, copy)
        try:
            have = set(column(con, "SELECT table_name FROM duckdb_tables() WHERE database_name = '__stdf_archive'"))
            names = [t for t in dict.fromkeys(SNAPSHOT_TABLES + LEGACY_TABLES) if t in have]
            for t in names:
                con.execute(f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM __stdf_archive.{t}")
        finally:
            con.execute("DETACH __stdf_archive")
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return names


def _attach(con: Any, path: str) -> None:
    try:
        con.execute(f"ATTACH {sql_literal(path)} AS __stdf_archive (READ_ONLY)")
    except Exception as e:
        if not is_lock_error(e):
            raise
        raise ArchiveBusyError(f"{path} is held read-write by another process") from None
