"""The API's database: one in-memory connection over an archive's views, locked down, and a cursor
per request.

`Database(archive)` opens the archive as `stdf_duck.analysis.Source` does (its views, the ledger
tables copied, the analysis macros), then confines it: DuckDB may touch only the archive's folder
and a private scratch folder (`allowed_directories`: spilling, export files), external access is
off (no other file, no network, no INSTALL/LOAD) and the configuration is locked (no SET undoes
it). Every request takes its own `cursor()` of that connection (DuckDB cursors of one database
run in parallel) and a query that runs longer than `timeout` seconds is interrupted.

A writer (materialize, sync) publishes a new archive.duckdb as it commits: a request that finds
the catalog replaced (at most every `refresh` seconds) opens it anew, so that the ledger tables,
the views of tables that had no files yet and the analyses' partition reads follow the archive; the
connection it replaces is closed once its last cursor is.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from .._duck import StdfConnection
from ..analysis.source import Source

#: the default row cap of POST /sql and of the analysis endpoints
MAX_ROWS = 10_000
#: the default time limit of one query, in seconds
TIMEOUT = 30.0


class QueryTimeout(Exception):
    """A query ran past the time limit and was interrupted."""


class CursorSource(Source):
    """A `Source` over one cursor of the API's connection (the analysis functions take a Source)."""

    def __init__(self, con: StdfConnection, archive: str) -> None:  # noqa: D107 - no new Source opened
        self.archive = archive
        self.paths = []
        self.con = con


#: seconds between two looks at the archive's catalog (a new one is opened when it was replaced)
REFRESH = 2.0


def catalog_signature(root: str) -> tuple[int, int, int]:
    """What changes when a writer publishes DIR/archive.duckdb (a new file renamed into place)."""
    from ..archive.catalog import DB_NAME

    st = os.stat(os.path.join(root, DB_NAME))
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class _Opened:
    """The archive as one catalog had it: its confined connection and the cursors using it."""

    def __init__(self, src: Source, signature: tuple[int, int, int], macros: frozenset[str]) -> None:
        self.src = src
        self.con: StdfConnection = src.con
        self.signature = signature
        self.macros = macros
        self.users = 0
        self.retired = False


class Database:
    """The locked-down connection of one archive (see the module doc)."""

    def __init__(
        self,
        archive: str | os.PathLike[str],
        *,
        timeout: float = TIMEOUT,
        max_rows: int = MAX_ROWS,
        refresh: float = REFRESH,
    ) -> None:
        from ..archive import Archive

        self.root = Archive.locate(os.fspath(archive)).root
        self.timeout = float(timeout)
        self.max_rows = int(max_rows)
        self.refresh = float(refresh)
        self.scratch = tempfile.mkdtemp(prefix="stdf-duck-api-")
        self._lock = threading.Lock()
        try:
            self._open = self._load()
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        self._looked = time.monotonic()

    @property
    def macros(self) -> frozenset[str]:
        """The analysis macros of the connection (the SQL guard's allowed functions)."""
        return self._open.macros

    def _load(self) -> _Opened:
        signature = catalog_signature(self.root)  # before opening: a publish meanwhile is seen next time
        src = Source(archive=self.root)
        try:
            self._confine(src.con)
            macros = frozenset(
                r[0]
                for r in src.con.execute(
                    "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type LIKE '%macro'"
                ).fetchall()
            )
        except BaseException:
            src.close()
            raise
        return _Opened(src, signature, macros)

    def _confine(self, con: StdfConnection) -> None:
        """Only the archive and the scratch folder, no external access, the configuration locked."""
        from ..archive._sql import sql_literal

        dirs = sorted({os.path.join(d, "") for p in (self.root, self.scratch) for d in (p, os.path.realpath(p))})
        allowed = "[" + ", ".join(sql_literal(d) for d in dirs) + "]"
        con.execute(f"SET temp_directory = {sql_literal(os.path.join(self.scratch, 'spill'))}")
        con.execute(f"SET allowed_directories = {allowed}")
        con.execute("SET allowed_paths = []")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def generation(self) -> tuple[int, int, int]:
        """The catalog the next request reads (a new one once a writer published it)."""
        with self._lock:
            self._follow()
            return self._open.signature

    def _follow(self) -> None:
        """Open the archive anew when its catalog was replaced (under the lock)."""
        now = time.monotonic()
        if now - self._looked < self.refresh:
            return
        self._looked = now
        try:
            if catalog_signature(self.root) == self._open.signature:
                return
            new = self._load()
        except Exception:  # the catalog being replaced right now, say: keep the one we have
            return
        old, self._open = self._open, new
        old.retired = True
        if old.users == 0:
            old.src.close()

    @contextlib.contextmanager
    def cursor(self) -> Iterator[StdfConnection]:
        """A cursor of the connection for one request, closed after it."""
        with self._lock:
            self._follow()
            opened = self._open
            opened.users += 1
        try:
            cur = opened.con.cursor()
            try:
                yield cur
            finally:
                cur.close()
        finally:
            with self._lock:
                opened.users -= 1
                if opened.retired and opened.users == 0:
                    opened.src.close()

    @contextlib.contextmanager
    def source(self) -> Iterator[CursorSource]:
        """An analysis Source over a fresh cursor."""
        with self.cursor() as cur:
            yield CursorSource(cur, self.root)

    @contextlib.contextmanager
    def time_limit(self, cur: StdfConnection) -> Iterator[None]:
        """Interrupt `cur` when the block runs longer than the time limit (QueryTimeout)."""
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            cur.interrupt()

        timer = threading.Timer(self.timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as e:
            if fired.is_set():
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped") from e
            raise
        finally:
            timer.cancel()
        if fired.is_set():
            raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")

    def fetch(
        self, cur: StdfConnection, rel: Any, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        """(columns, at most `limit` rows, whether more rows were left out) of a relation, within
        the time limit."""
        cap = self.max_rows if limit is None else min(int(limit), self.max_rows)
        with self.time_limit(cur):
            columns = list(rel.columns)
            rows = rel.limit(cap + 1).fetchall()
        return columns, rows[:cap], len(rows) > cap

    def scratch_path(self, suffix: str) -> str:
        """A new file name in the scratch folder (an export's output)."""
        return os.path.join(self.scratch, f"{uuid.uuid4().hex}{suffix}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._open.src.close()  # its connection and its spill folder
        shutil.rmtree(self.scratch, ignore_errors=True)


def jsonable(v: Any) -> Any:
    """A DuckDB value as JSON: NaN and infinities as null, dates and times in ISO 8601, decimals
    as numbers, bytes as hex, UUIDs and intervals as text, lists, structs and maps recursively."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, decimal.Decimal):
        return jsonable(float(v))
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


def records(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows as objects keyed by column name (JSON values)."""
    return [{c: jsonable(x) for c, x in zip(columns, r, strict=True)} for r in rows]
