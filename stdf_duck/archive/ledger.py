"""The archive's ledger: what every writer did, in a file that only writers open.

Inside the archive directory DIR::

    DIR/.lock                       the writers' lock (`FileLock`): one materialize or sync at a time
    DIR/_ledger/ledger.duckdb       tables ingest (one row per source file), runs (one per materialize),
                                    sync_files and syncs (stdf-duck sync), archive_meta
                                    (stdf_duck/sql/archive/ledger.sql and sync.sql)

Only a writer that holds DIR/.lock opens ledger.duckdb, so writers never meet there and no reader
can hold it. Readers see a copy: after each change the writer writes the tables `SNAPSHOT_TABLES`
into a new DIR/archive.duckdb and renames it over the old one (stdf_duck.catalog).

Archives written before this layout kept these tables inside archive.duckdb. The first writer
copies them here (`Ledger.create`, reading a copy of the file, so a reader that holds it open
neither blocks the copy nor notices it); until then readers read them there.

The commit protocol that the ledger records (intent, renames, final status) and its roll-forward
after a kill (`recover`) are described in stdf_duck.archive.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from .._errors import ArchiveBusyError, ArchiveError, one_line
from ._sql import column, named, render, scalar, sql_literal
from .files import fsync_path, remove, unlink_output
from .layout import ROW_COLUMNS
from .signals import INTERRUPTED

LEDGER_DIR = "_ledger"
LEDGER_DB = "ledger.duckdb"
#: the ledger tables readers see (copied into each new DIR/archive.duckdb)
SNAPSHOT_TABLES: tuple[str, ...] = ("ingest", "runs", "sync_files", "syncs", "archive_meta")
#: the tables of an archive.duckdb written before the ledger had its own file
LEGACY_TABLES: tuple[str, ...] = ("archive_meta", "ingest", "runs", "sync_files", "syncs")
#: 3: results stored as rows + result_params (older results files stay readable: catalog.py)
FORMAT_VERSION = "3"
#: DuckDB files of the archive are written in the storage format of DuckDB 1.0, which every later
#: DuckDB reads (the DuckDB CLI may be older than the Python package that wrote them)
STORAGE_VERSION = "v1.0.0"

#: ingest statuses of a source whose rows are in the archive ('partial': its decode ended on damage)
IN_ARCHIVE: tuple[str, ...] = ("ok", "partial", "duplicate")
#: the status a 'committing' ingest row ends in
FINAL_STATUS = (
    "CASE WHEN duplicate_of IS NOT NULL THEN 'duplicate' WHEN damage IS NOT NULL THEN 'partial' ELSE 'ok' END"
)
#: why a file that failed before is not read again (materialize and sync share the rule: `rerun`)
KNOWN_BAD = "failed before with this size and mtime (see stdf-duck status; --retry-failed reads it again)"

LEDGER_COLS: tuple[str, ...] = (
    "path",
    "size",
    "mtime",
    "mtime_ns",
    "file_id",
    "content_hash",
    "status",
    "error",
    "damage",
    "duplicate_of",
    "product",
    "stage",
    "on_error",
    "part_typ",
    "test_stage",
    "lot_id",
    "n_streams",
    "stream_size",
    "n_warnings",
    *ROW_COLUMNS,
    "outputs",
    "staged",
    "replaced",
    "seconds",
    "started_at",
    "finished_at",
    "run_id",
    "writer",
)


def rerun(in_archive: bool, failed: bool, same: bool, retry_failed: bool = False) -> str:
    """What a writer does with a file it knew before: 'unchanged' (its rows are in the archive and
    its size and mtime did not change), 'skip' (it failed before with this size and mtime: it was
    reported then, `status` lists it, so a cron job stays quiet; retry_failed: read it again) or
    'read'. The one rule of materialize (ingest) and sync (sync_files)."""
    if same and in_archive:
        return "unchanged"
    if same and failed and not retry_failed:
        return "skip"
    return "read"


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def ledger_sql() -> str:
    """The ledger's tables (ledger.sql), with one rows_<table> column per archive table."""
    return render("ledger", row_columns=" ".join(f"{c} BIGINT," for c in ROW_COLUMNS))


def is_lock_error(e: BaseException) -> bool:
    """True when DuckDB refused a database file because another process holds it (the one test
    of that condition: the ledger's retry loop and the catalog's read-only attach use it)."""
    import duckdb

    return isinstance(e, duckdb.IOException) and "lock" in str(e).lower()


def duck(path: str, read_only: bool = False) -> Any:
    """A plain DuckDB connection to a DuckDB file of the archive (a new file is written in the
    storage format `STORAGE_VERSION`)."""
    import duckdb

    config: dict[str, Any] = {} if read_only else {"storage_compatibility_version": STORAGE_VERSION}
    return duckdb.connect(path, read_only=read_only, config=config)


class _Committing(NamedTuple):
    """An ingest row a killed run left half committed."""

    path: str
    staged: list[str] | None
    outputs: list[str] | None
    replaced: list[str] | None


class Ledger:
    """DIR/_ledger/ledger.duckdb, the ledger database (writers only)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.dir = os.path.join(root, LEDGER_DIR)
        self.path = os.path.join(self.dir, LEDGER_DB)
        self._held: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the ledger open until the end of the block (a run: one connection for its start,
        its commits and its end instead of one per step)."""
        with self.open() as con:
            self._held = con
            try:
                yield
            finally:
                self._held = None

    @contextmanager
    def open(self, timeout: float = 60.0) -> Iterator[Any]:
        """The ledger database, for a writer that holds the archive's lock (retried while some
        other process has the file open, e.g. a person with the DuckDB CLI)."""
        if self._held is not None:
            yield self._held
            return
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                con = duck(self.path)
                break
            except Exception as e:
                if not is_lock_error(e):
                    raise
                if time.monotonic() > deadline:
                    raise ArchiveBusyError(
                        f"{self.path} is open in another process ({one_line(e)}); close it and retry"
                    ) from None
                if INTERRUPTED.is_set():
                    raise KeyboardInterrupt from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            self.upgrade(con)
            yield con
        finally:
            con.close()

    def create(self, legacy: str) -> None:
        """Create ledger.duckdb (atomically: a temporary file renamed into place), with the ledger
        of `legacy` (an archive.duckdb of an older archive) when there is one."""
        os.makedirs(self.dir, exist_ok=True)
        tmp = f"{self.path}.tmp-{os.getpid()}"
        copy = os.path.join(self.dir, f".legacy-{os.getpid()}.duckdb")
        for p in (tmp, f"{tmp}.wal", copy, f"{copy}.wal"):
            remove(p)
        con = duck(tmp)
        try:
            con.execute(ledger_sql())
            con.execute(render("sync"))
            if os.path.isfile(legacy):  # a copy: a reader holding the file (even read-write) is no obstacle
                shutil.copyfile(legacy, copy)
                if os.path.isfile(f"{legacy}.wal"):
                    shutil.copyfile(f"{legacy}.wal", f"{copy}.wal")
                self._migrate(con, copy, legacy)
            con.execute("DELETE FROM archive_meta WHERE key = 'format'")
            con.execute("INSERT INTO archive_meta VALUES ('format', ?)", [FORMAT_VERSION])
            if not con.execute("SELECT 1 FROM archive_meta WHERE key = 'created_at'").fetchall():
                con.execute(
                    "INSERT INTO archive_meta VALUES ('created_at', ?)", [utcnow().isoformat(timespec="seconds")]
                )
            con.execute("CHECKPOINT")
        finally:
            con.close()
            for p in (copy, f"{copy}.wal"):
                remove(p)
        fsync_path(tmp)
        os.replace(tmp, self.path)
        fsync_path(self.dir, directory=True)

    def _migrate(self, con: Any, copy: str, legacy: str) -> None:
        try:
            con.execute(f"ATTACH {sql_literal(copy)} AS legacy (READ_ONLY)")
        except Exception as e:
            raise ArchiveError(f"{legacy} cannot be read to move its ledger to {self.path}: {one_line(e)}") from None
        try:
            have = set(column(con, "SELECT table_name FROM duckdb_tables() WHERE database_name = 'legacy'"))
            for t in LEGACY_TABLES:
                if t in have:
                    con.execute(f"INSERT INTO {t} BY NAME SELECT * FROM legacy.{t}")
            con.execute("INSERT INTO archive_meta VALUES ('migrated_at', ?)", [utcnow().isoformat(timespec="seconds")])
        finally:
            con.execute("DETACH legacy")

    def upgrade(self, con: Any) -> None:
        """Bring a ledger written by an older version to this one: a rows_<table> column for every
        archive table (NULL for files written before the table existed), the format key."""
        if scalar(con, "SELECT max(value) FROM archive_meta WHERE key = 'format'") == FORMAT_VERSION:
            return
        for c in ROW_COLUMNS:
            con.execute(f"ALTER TABLE ingest ADD COLUMN IF NOT EXISTS {c} BIGINT")
        con.execute("DELETE FROM archive_meta WHERE key = 'format'")
        con.execute("INSERT INTO archive_meta VALUES ('format', ?)", [FORMAT_VERSION])

    # -- the ingest table ----------------------------------------------------------------------

    def recover(self, con: Any) -> int:
        """Roll forward every commit a killed run left half done; returns how many."""
        rows = named(con, _Committing, "SELECT path, staged, outputs, replaced FROM ingest WHERE status = 'committing'")
        for row in rows:
            path, staged, outputs, replaced = row.path, row.staged or [], row.outputs or [], row.replaced or []
            complete = True
            for tmp, rel in zip(staged, outputs, strict=False):
                src, dst = self.abs(tmp), self.abs(rel)
                if os.path.exists(src):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.replace(src, dst)
                elif not os.path.exists(dst):
                    complete = False
            keep = set(outputs)
            for rel in replaced:
                if rel not in keep:
                    unlink_output(self.abs(rel))
            if complete:
                con.execute(
                    f"UPDATE ingest SET status = {FINAL_STATUS}, staged = NULL, replaced = NULL WHERE path = ?", [path]
                )
            else:
                for rel in outputs:
                    unlink_output(self.abs(rel))
                con.execute(
                    "UPDATE ingest SET status = 'failed', staged = NULL, replaced = NULL, outputs = NULL, "
                    "error = 'an interrupted commit could not be completed; the file will be ingested again' "
                    "WHERE path = ?",
                    [path],
                )
        return len(rows)

    def abs(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    @staticmethod
    def upsert(con: Any, rows: list[dict[str, Any]]) -> None:
        """Replace the ingest rows of these paths (one statement each for the whole batch)."""
        if not rows:
            return
        con.execute("DELETE FROM ingest WHERE list_contains(?, path)", [[r["path"] for r in rows]])
        cols = list(LEDGER_COLS)
        con.executemany(
            f"INSERT INTO ingest ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [[r.get(c) for c in cols] for r in rows],
        )
