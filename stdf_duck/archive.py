"""The Parquet archive: `stdf-duck materialize` as a library.

Layout of an archive directory DIR (stdf-reference.md section 4.11)::

    DIR/archive.duckdb                  views parts, results, tests, bins, wafers, files over the
                                        Parquet below, and the tables ingest (the ledger) and runs
    DIR/<table>/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet     (zstd)
    DIR/.staging/                       temporary files of a run (never read by the views)
    DIR/.lock                           held by the running materialize

How it stays consistent:

* a worker writes one source file's tables to `.staging/` only (`archive_worker.run_job`);
* the parent then records an intent in the ledger (status 'committing', the temporary and final
  names), renames the files into place (atomic on one file system), deletes the files the source
  had before (a changed file), and marks the row 'ok'. A run that starts after a kill first rolls
  every 'committing' row forward, then empties `.staging/`. A kill at any moment therefore leaves no
  partial Parquet file visible, and the next run completes the work;
* a source is skipped when the ledger has it with the same size, mtime and options; a source with
  the same `file_id` or `content_hash` as another source already in the archive is recorded as a
  'duplicate' and adds no rows;
* one materialize at a time per archive: `DIR/.lock` (an OS file lock, released when the process
  dies) refuses a second one with `ArchiveBusyError`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob as _glob
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from .archive_worker import (
    ARCHIVE_TABLES,
    INTERRUPTED,
    _is_interrupt,
    NULL_PARTITION,
    PARTITION_COLUMNS,
    Job,
    JobResult,
    one_line,
    render,
    sanitize,
    sql_literal,
)

__all__ = [
    "ARCHIVE_TABLES",
    "NULL_PARTITION",
    "PARTITION_COLUMNS",
    "Archive",
    "ArchiveBusyError",
    "ArchiveError",
    "FileOutcome",
    "Item",
    "MaterializeReport",
    "SourceError",
    "WorkerPools",
    "expand_sources",
    "materialize",
    "materialize_items",
    "sanitize",
]

DB_NAME = "archive.duckdb"
STAGING = ".staging"
LOCK_NAME = ".lock"
FORMAT_VERSION = "1"
#: fsync temporary files before they are published and directories after (power-loss safety).
FSYNC = True

Status = Literal["ok", "unchanged", "duplicate", "failed"]
# the status a 'committing' ledger row ends in
_FINAL_STATUS = "CASE WHEN duplicate_of IS NULL THEN 'ok' ELSE 'duplicate' END"


class ArchiveError(Exception):
    """Not an archive, or an archive that cannot be used."""


class ArchiveBusyError(ArchiveError):
    """Another process is writing the archive."""


class SourceError(Exception):
    """A source given on the command line does not exist or matches nothing."""


# ---- sources ---------------------------------------------------------------------------------

_MAGIC = (b"\x1f\x8b", b"BZh", b"PK\x03\x04", b"\x28\xb5\x2f\xfd")


def _far(head: bytes) -> bool:
    return head[:4] in (b"\x02\x00\x00\x0a", b"\x00\x02\x00\x0a")


def looks_like_stdf(path: str) -> bool:
    """True for an uncompressed STDF file (FAR first) and for gzip/bzip2/zip/zstd files whose
    content starts with a FAR (zstd, which the standard library cannot open, is accepted as is)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        if _far(head):
            return True
        if head[:2] == b"\x1f\x8b":
            import gzip

            with gzip.open(path, "rb") as g:
                return _far(g.read(4))
        if head[:3] == b"BZh":
            import bz2

            with bz2.open(path, "rb") as b:
                return _far(b.read(4))
        if head == b"PK\x03\x04":
            import zipfile

            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if not n.endswith("/")]
                if not names:
                    return False
                with z.open(names[0]) as m:
                    return _far(m.read(4))
        return head == b"\x28\xb5\x2f\xfd"
    except (OSError, EOFError, ValueError, Exception):
        return False


def _walk(directory: str) -> Iterator[str]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


def expand_sources(sources: Iterable[str]) -> list[str]:
    """Files, directories (searched recursively) and globs -> absolute, resolved file paths.

    A file named explicitly is always kept; files found in a directory or by a glob are kept when
    they look like STDF (see `looks_like_stdf`). Raises SourceError for a path that does not exist,
    a glob that matches nothing, or a directory or glob without any STDF file."""
    out: list[str] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        rp = os.path.realpath(p)
        if rp not in seen:
            seen.add(rp)
            out.append(rp)

    for src in sources:
        s = os.path.expanduser(os.fspath(src))
        if _glob.has_magic(s):
            matches = sorted(_glob.glob(s, recursive=True))
            if not matches:
                raise SourceError(f"no file matches {src}")
            found: list[str] = []
            for m in matches:
                if os.path.isdir(m):
                    found.extend(f for f in _walk(m) if looks_like_stdf(f))
                elif os.path.isfile(m) and looks_like_stdf(m):
                    found.append(m)
        elif os.path.isdir(s):
            found = [f for f in _walk(s) if looks_like_stdf(f)]
        elif os.path.exists(s):
            found = [s]
        else:
            raise SourceError(f"no such file or directory: {src}")
        if not found:
            raise SourceError(f"no STDF file found in {src}")
        for f in found:
            add(f)
    return out


@dataclass
class Item:
    """One file to materialize: `path` is read, `key` names it in the ledger (default: `path`).

    A sync gives the remote file's credential-free URL as the key, its remote size and mtime, and
    the product/stage its rules derived (`product_default`/`stage_default` are used only where the
    MIR has no PART_TYP / TEST_COD and FLOW_ID)."""

    path: str
    key: str = ""
    size: int = -1
    mtime_ns: int = -1
    product_default: str | None = None
    stage_default: str | None = None

    def __post_init__(self) -> None:
        self.key = self.key or self.path
        if self.size < 0 or self.mtime_ns < 0:
            st = os.stat(self.path)
            self.size = st.st_size if self.size < 0 else self.size
            self.mtime_ns = st.st_mtime_ns if self.mtime_ns < 0 else self.mtime_ns


# ---- results ---------------------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What a run did with one source file."""

    path: str
    status: Status
    size: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    duplicate_of: str | None = None
    file_id: str | None = None
    partitions: list[tuple[str, str, str]] = field(default_factory=list)
    stream_size: int = 0  # decompressed bytes (0 when not read)

    @property
    def n_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class MaterializeReport:
    archive: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    route: str = ""
    interrupted: bool = False
    run_id: int | None = None

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def bytes_written(self) -> int:
        """Bytes of STDF (on disk) of the files materialized in this run."""
        return sum(o.size for o in self.outcomes if o.status in ("ok", "duplicate"))

    @property
    def bytes_processed(self) -> int:
        """Bytes on disk of the files read in this run (all but the unchanged ones)."""
        return sum(o.size for o in self.outcomes if o.status != "unchanged")

    @property
    def stream_bytes_processed(self) -> int:
        """Decompressed STDF bytes of the files read in this run."""
        return sum(o.stream_size or o.size for o in self.outcomes if o.status != "unchanged")

    def rows(self) -> dict[str, int]:
        tot = {t: 0 for t in ARCHIVE_TABLES}
        for o in self.outcomes:
            if o.status == "ok":
                for t, n in o.rows.items():
                    tot[t] = tot.get(t, 0) + n
        return tot

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted


class Progress:
    """Callbacks of `materialize` (the CLI draws a progress bar with them). No-ops here."""

    def start(self, n_files: int, n_bytes: int, n_unchanged: int) -> None:
        pass

    def file_done(self, outcome: FileOutcome) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def stop(self) -> None:
        pass


# ---- the archive -----------------------------------------------------------------------------


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _fsync_path(path: str, directory: bool = False) -> None:
    if not FSYNC:
        return
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _FileLock:
    """An exclusive, non-blocking OS lock on a file (released by the OS when the process dies)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if sys.platform == "win32":  # pragma: no cover
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        info = f"pid {os.getpid()} on {socket.gethostname()} since {_dt.datetime.now().isoformat(timespec='seconds')}\n"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0) if hasattr(os, "pwrite") else os.write(fd, info.encode())
        except OSError:
            pass
        return True

    def holder(self) -> str:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                return f.read().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            try:
                if sys.platform != "win32":
                    import fcntl

                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


class Archive:
    """An archive directory (created on first use by `materialize`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))

    @classmethod
    def locate(cls, path: str | os.PathLike[str]) -> Archive:
        """The archive at `path` (its directory or its archive.duckdb); ArchiveError if none."""
        p = os.path.abspath(os.fspath(path))
        if os.path.isfile(p) and os.path.basename(p) == DB_NAME:
            p = os.path.dirname(p)
        if not os.path.isfile(os.path.join(p, DB_NAME)):
            if not os.path.exists(p):
                raise ArchiveError(f"no such archive: {path}")
            raise ArchiveError(f"not an archive (no {DB_NAME}): {path}")
        return cls(p)

    @property
    def db_path(self) -> str:
        return os.path.join(self.root, DB_NAME)

    @property
    def staging(self) -> str:
        return os.path.join(self.root, STAGING)

    def abs(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def glob(self, table: str) -> str:
        """The Parquet files of one table (partition depth fixed: staging files never match)."""
        return os.path.join(self.root, table, "*", "*", "*", "*.parquet")

    def has_files(self, table: str) -> bool:
        return bool(_glob.glob(self.glob(table)))

    # -- locking and the database ------------------------------------------------------------

    @contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Exclusive writer lock; ArchiveBusyError when another process holds it (after waiting
        up to `wait` seconds for it)."""
        os.makedirs(self.root, exist_ok=True)
        lk = _FileLock(os.path.join(self.root, LOCK_NAME))
        deadline = time.monotonic() + wait
        while not lk.acquire():
            if time.monotonic() < deadline:
                time.sleep(min(0.5, max(0.01, deadline - time.monotonic())))
                continue
            who = lk.holder()
            raise ArchiveBusyError(
                f"archive {self.root} is being written by another stdf-duck materialize or sync"
                + (f" ({who})" if who else "")
                + ("; it did not finish within the wait" if wait else "; wait for it to finish and run again")
            )
        try:
            yield
        finally:
            lk.release()

    @contextmanager
    def database(self, read_only: bool = False, timeout: float = 60.0) -> Iterator[Any]:
        """A plain DuckDB connection to archive.duckdb, retried while another process holds
        DuckDB's own file lock (a reader with the file open, a concurrent query)."""
        import duckdb

        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(self.db_path, read_only=read_only)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    if "lock" in str(e).lower():
                        raise ArchiveBusyError(
                            f"{self.db_path} is open in another process ({one_line(e)}); close it and retry"
                        ) from None
                    raise
                if INTERRUPTED.is_set():
                    raise KeyboardInterrupt from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            yield con
        finally:
            con.close()

    def init(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        with self.database() as con:
            con.execute(render("ledger"))
            if not con.execute("SELECT 1 FROM archive_meta WHERE key = 'format'").fetchall():
                con.execute(
                    "INSERT INTO archive_meta VALUES ('format', ?), ('created_at', ?)",
                    [FORMAT_VERSION, _utcnow().isoformat(timespec="seconds")],
                )

    def create_views(self, con: Any) -> list[str]:
        """(Re)create the views of every table that has Parquet files; returns their names."""
        made = []
        for t in ARCHIVE_TABLES:
            if self.has_files(t):
                con.execute(render("view", name=t, glob=sql_literal(self.glob(t))))
                made.append(t)
            else:
                con.execute(f"DROP VIEW IF EXISTS {t}")
        return made

    def ledger(self) -> list[dict[str, Any]]:
        """The ingest ledger as a list of dicts."""
        with self.database(read_only=True) as con:
            cur = con.execute("SELECT * FROM ingest ORDER BY path")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    # -- crash recovery ----------------------------------------------------------------------

    def recover(self, con: Any) -> int:
        """Roll forward every commit a killed run left half done; returns how many."""
        rows = con.execute(
            "SELECT path, staged, outputs, replaced FROM ingest WHERE status = 'committing'"
        ).fetchall()
        for path, staged, outputs, replaced in rows:
            staged, outputs, replaced = staged or [], outputs or [], replaced or []
            complete = True
            for tmp, rel in zip(staged, outputs):
                src, dst = self.abs(tmp), self.abs(rel)
                if os.path.exists(src):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.replace(src, dst)
                elif not os.path.exists(dst):
                    complete = False
            keep = set(outputs)
            for rel in replaced:
                if rel not in keep:
                    _unlink(self.abs(rel))
            if complete:
                con.execute(
                    f"UPDATE ingest SET status = {_FINAL_STATUS}, staged = NULL, replaced = NULL WHERE path = ?", [path]
                )
            else:
                for rel in outputs:
                    _unlink(self.abs(rel))
                con.execute(
                    "UPDATE ingest SET status = 'failed', staged = NULL, replaced = NULL, outputs = NULL, "
                    "error = 'an interrupted commit could not be completed; the file will be ingested again' "
                    "WHERE path = ?",
                    [path],
                )
        return len(rows)

    def clean_staging(self) -> None:
        if os.path.isdir(self.staging):
            shutil.rmtree(self.staging, ignore_errors=True)
        os.makedirs(self.staging, exist_ok=True)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    d = os.path.dirname(path)
    # drop partition directories left empty (lot_id=, then test_stage=, then part_typ=)
    for _ in range(3):
        try:
            os.rmdir(d)
        except OSError:
            break
        d = os.path.dirname(d)


# ---- materialize -----------------------------------------------------------------------------

_LEDGER_COLS = (
    "path", "size", "mtime", "mtime_ns", "file_id", "content_hash", "status", "error", "duplicate_of",
    "product", "stage", "on_error", "part_typ", "test_stage", "lot_id", "n_streams", "stream_size",
    "n_warnings", "rows_files", "rows_parts", "rows_results", "rows_tests", "rows_bins", "rows_wafers",
    "outputs", "staged", "replaced", "seconds", "started_at", "finished_at", "run_id", "writer",
)  # fmt: skip


def _upsert(con: Any, rows: list[dict[str, Any]]) -> None:
    """Replace the ledger rows of these paths (one statement each for the whole batch)."""
    if not rows:
        return
    con.execute("DELETE FROM ingest WHERE list_contains(?, path)", [[r["path"] for r in rows]])
    cols = list(_LEDGER_COLS)
    con.executemany(
        f"INSERT INTO ingest ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        [[r.get(c) for c in cols] for r in rows],
    )


def _mtime(ns: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.timezone.utc).replace(tzinfo=None)


class _Run:
    """The state of one materialize run (parent side)."""

    def __init__(
        self,
        archive: Archive,
        product: str | None,
        stage: str | None,
        on_error: str,
        progress: Progress,
        report: MaterializeReport,
    ) -> None:
        self.a = archive
        self.product = product
        self.stage = stage
        self.on_error = on_error
        self.progress = progress
        self.report = report
        self.pending: list[JobResult] = []
        self.started: dict[str, _dt.datetime] = {}
        self.views_made = False
        self.run_id = 0
        self.writer = ""

    def commit(self) -> None:
        """Publish every finished job: intent, renames, deletions, 'ok' (see the module doc)."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        outcomes: list[FileOutcome] = []
        publish: list[tuple[JobResult, list[str]]] = []  # (result, replaced)
        with self.a.database() as con:
            cur = con.execute(
                "SELECT path, status, file_id, content_hash, outputs, duplicate_of FROM ingest "
                "WHERE status IN ('ok', 'committing') OR (status = 'failed' AND len(outputs) > 0)"
            )
            index = {r[0]: r for r in cur.fetchall()}
            by_id: dict[str, str] = {}
            by_hash: dict[str, str] = {}
            referenced: dict[str, str] = {}
            for p, _st, fid, ch, outs, _d in index.values():
                if fid:
                    by_id[fid] = p
                if ch:
                    by_hash[ch] = p
                for rel in outs or []:
                    referenced[rel] = p
            prev_rows = {
                r[0]: r
                for r in con.execute(
                    "SELECT path, status, outputs, file_id, content_hash, rows_files, rows_parts, rows_results, "
                    "rows_tests, rows_bins, rows_wafers FROM ingest WHERE list_contains(?, path)",
                    [[r.path for r in batch]],
                ).fetchall()
            }
            now = _utcnow()
            for r in batch:  # the data is on disk before the ledger says it can be published
                for tmp, _rel in r.outputs:
                    _fsync_path(tmp)
            con.execute("BEGIN TRANSACTION")
            stale: list[str] = []
            rows: list[dict[str, Any]] = []
            for r in batch:
                prev = prev_rows.get(r.path)
                prev_outputs = list(prev[2] or []) if prev else []
                base: dict[str, Any] = {
                    "path": r.path, "size": r.size, "mtime": _mtime(r.mtime_ns), "mtime_ns": r.mtime_ns,
                    "product": self.product, "stage": self.stage, "on_error": self.on_error,
                    "seconds": r.seconds, "started_at": self.started.get(r.path, now), "finished_at": now,
                    "run_id": self.run_id, "writer": f"{self.writer} {r.route}".strip(),
                }  # fmt: skip
                if r.status != "ok":
                    row = dict(base, status="failed", error=r.error, n_warnings=r.n_warnings)
                    if prev and prev_outputs and prev[1] in ("ok", "failed"):  # old rows stay until it reads again
                        row.update(outputs=prev_outputs, file_id=prev[3], content_hash=prev[4])
                        row.update(zip(("rows_files", "rows_parts", "rows_results", "rows_tests", "rows_bins", "rows_wafers"), prev[5:]))
                    rows.append(row)
                    outcomes.append(FileOutcome(r.path, "failed", r.size, seconds=r.seconds, error=r.error, stream_size=r.stream_size))
                    continue
                other = None
                if r.file_id and by_id.get(r.file_id, r.path) != r.path:
                    other = by_id[r.file_id]
                elif r.content_hash and by_hash.get(r.content_hash, r.path) != r.path:
                    other = by_hash[r.content_hash]
                ident = {"file_id": r.file_id, "content_hash": r.content_hash, "n_streams": r.n_streams,
                         "stream_size": r.stream_size, "n_warnings": r.n_warnings}  # fmt: skip
                if other is not None:
                    for tmp, _rel in r.outputs:
                        _unlink_quiet(tmp)
                    replaced = [x for x in prev_outputs if referenced.get(x) == r.path]
                    row = dict(base, **ident, status="committing" if replaced else "duplicate", duplicate_of=other,
                               outputs=[], staged=[], replaced=replaced or None)  # fmt: skip
                    rows.append(row)
                    if replaced:
                        publish.append((JobResult(r.path, r.size, r.mtime_ns, "duplicate"), replaced))
                        stale.append(r.path)
                    outcomes.append(
                        FileOutcome(r.path, "duplicate", r.size, seconds=r.seconds, duplicate_of=other, file_id=r.file_id,
                                    stream_size=r.stream_size)
                    )
                    continue
                new_rel = [rel for _tmp, rel in r.outputs]
                keep = set(new_rel)
                replaced = [x for x in prev_outputs if x not in keep and referenced.get(x, r.path) == r.path]
                if prev_outputs and (prev is None or prev[3] != r.file_id or prev[4] != r.content_hash):
                    stale.append(r.path)
                first = r.partitions[0] if r.partitions else (None, None, None)
                row = dict(
                    base, **ident, status="committing", part_typ=first[0], test_stage=first[1], lot_id=first[2],
                    outputs=new_rel, staged=[os.path.relpath(t, self.a.root).replace(os.sep, "/") for t, _ in r.outputs],
                    replaced=replaced, **{f"rows_{t}": n for t, n in r.rows.items()},
                )  # fmt: skip
                rows.append(row)
                if prev is not None:  # this path's previous content is no longer in the archive
                    if by_id.get(prev[3]) == r.path:
                        del by_id[prev[3]]
                    if by_hash.get(prev[4]) == r.path:
                        del by_hash[prev[4]]
                by_id[r.file_id or ""] = r.path
                if r.content_hash:
                    by_hash[r.content_hash] = r.path
                for rel in new_rel:
                    referenced[rel] = r.path
                publish.append((r, replaced))
                outcomes.append(
                    FileOutcome(r.path, "ok", r.size, dict(r.rows), r.seconds, file_id=r.file_id, partitions=list(r.partitions),
                                stream_size=r.stream_size)
                )
            _upsert(con, rows)
            if stale:  # duplicates of content that is now gone must be ingested again
                con.execute(
                    "UPDATE ingest SET status = 'stale' WHERE status = 'duplicate' AND list_contains(?, duplicate_of) "
                    "AND NOT list_contains(?, path)",
                    [stale, [r["path"] for r in rows]],
                )
            con.execute("COMMIT")
            # publish: rename into place, delete what the sources had before
            dirs: set[str] = set()
            for r, _replaced in publish:
                for tmp, rel in r.outputs:
                    dst = self.a.abs(rel)
                    d = os.path.dirname(dst)
                    if d not in dirs:
                        os.makedirs(d, exist_ok=True)
                        dirs.add(d)
                    os.replace(tmp, dst)
            for d in dirs:
                _fsync_path(d, directory=True)
            for _r, replaced in publish:  # after every rename: only emptied directories go
                for rel in replaced:
                    _unlink(self.a.abs(rel))
            if publish:
                con.execute(
                    f"UPDATE ingest SET status = {_FINAL_STATUS}, staged = NULL, replaced = NULL "
                    "WHERE status = 'committing' AND list_contains(?, path)",
                    [[r.path for r, _ in publish]],
                )
            done = [r.path for r, _ in publish if r.status == "ok"]
            if done and not self.views_made:
                self.a.create_views(con)
                self.views_made = True
        for o in outcomes:
            self.report.outcomes.append(o)
            self.progress.file_done(o)


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _memory_limit(workers: int) -> str | None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return f"{max(256, int(total * 0.6 / max(workers, 1) / 2**20))}MB"


def materialize(
    sources: Sequence[str],
    archive: str | os.PathLike[str],
    *,
    product: str | None = None,
    stage: str | None = None,
    workers: int | None = None,
    on_error: str = "raise",
    progress: Progress | None = None,
    command: str | None = None,
    threads: int | None = None,
) -> MaterializeReport:
    """STDF files, directories or globs -> the Hive-partitioned Parquet archive at `archive`.

    product / stage: partition values for every file (default: MIR PART_TYP, and TEST_COD else
    FLOW_ID). workers: files written in parallel (default: the number of CPUs, at most the number of
    files). on_error: 'raise' (a damaged file fails) or 'warn' (keep the rows before the damage).
    threads: DuckDB threads per worker (default: CPUs / workers).

    Raises SourceError (a missing source), ArchiveBusyError (another run holds the archive);
    failures of single files are in the report (`report.failed`), never raised. A
    KeyboardInterrupt stops the run (what is finished is kept) and sets `report.interrupted`.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError("on_error must be 'raise' or 'warn'")
    items = [Item(p) for p in expand_sources(sources)]
    return materialize_items(
        items, archive, product=product, stage=stage, workers=workers, on_error=on_error, progress=progress,
        command=command, threads=threads,
    )  # fmt: skip


def materialize_items(
    items: Sequence[Item],
    archive: str | os.PathLike[str],
    *,
    product: str | None = None,
    stage: str | None = None,
    workers: int | None = None,
    on_error: str = "raise",
    progress: Progress | None = None,
    command: str | None = None,
    threads: int | None = None,
    lock_held: bool = False,
    pools: WorkerPools | None = None,
) -> MaterializeReport:
    """`materialize` for explicit items (see `Item`): the ledger knows each by its key, a key
    already in the ledger with the same size and mtime is 'unchanged'. lock_held: the caller
    holds `Archive.lock()` (a sync does, for its whole run). pools: worker processes kept across
    calls (a sync's batches); the caller closes it."""
    if on_error not in ("raise", "warn"):
        raise ValueError("on_error must be 'raise' or 'warn'")
    with _interrupt_handlers():
        return _materialize(
            list(items), archive, product, stage, workers, on_error, progress, command, threads, lock_held, pools
        )


_DEFER = threading.Event()


@contextmanager
def _interrupt_handlers() -> Iterator[None]:
    """SIGINT (and SIGTERM) raise KeyboardInterrupt and set archive_worker.INTERRUPTED, so an
    interrupt that reaches us wrapped in a DuckDB or Arrow error is still an interrupt."""
    import signal
    import threading

    INTERRUPTED.clear()
    _DEFER.set()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        INTERRUPTED.set()
        if not _DEFER.is_set():  # setup and closing bookkeeping run to their end
            raise KeyboardInterrupt

    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            saved[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover
            pass
    try:
        yield
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)
        INTERRUPTED.clear()
        _DEFER.clear()


def _materialize(
    items: list[Item],
    archive: str | os.PathLike[str],
    product: str | None,
    stage: str | None,
    workers: int | None,
    on_error: str,
    progress: Progress | None,
    command: str | None,
    threads: int | None = None,
    lock_held: bool = False,
    pools: WorkerPools | None = None,
) -> MaterializeReport:
    import stdf_duck

    progress = progress or Progress()
    by_key: dict[str, Item] = {}
    for it in items:
        by_key.setdefault(it.key, it)
    paths = list(by_key)
    a = Archive(archive)
    t0 = time.perf_counter()
    report = MaterializeReport(archive=a.root)
    ncpu = os.cpu_count() or 1
    with contextlib.nullcontext() if lock_held else a.lock():
        a.init()
        run = _Run(a, product, stage, on_error, progress, report)
        run.writer = f"stdf_duck {stdf_duck.__version__}"
        with a.database() as con:
            a.recover(con)
            con.execute(
                "UPDATE runs SET status = 'killed' WHERE status = 'running'"
            )  # we hold the lock: a 'running' run died
            run.run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0])
            con.execute(
                "INSERT INTO runs (run_id, started_at, status, pid, host, command, n_sources) VALUES (?, ?, 'running', ?, ?, ?, ?)",
                [run.run_id, _utcnow(), os.getpid(), socket.gethostname(), command, len(paths)],
            )
            known = {
                r[0]: r
                for r in con.execute(
                    "SELECT path, status, size, mtime_ns, product, stage FROM ingest WHERE list_contains(?, path)",
                    [paths],
                ).fetchall()
            }
            if a.has_files("files"):
                a.create_views(con)
                run.views_made = True
        report.run_id = run.run_id
        a.clean_staging()

        nw = 1
        try:
            _DEFER.clear()
            if INTERRUPTED.is_set():  # Ctrl-C during the setup
                raise KeyboardInterrupt
            jobs: list[Job] = []
            unchanged: list[FileOutcome] = []
            for i, p in enumerate(paths):
                it = by_key[p]
                k = known.get(p)
                if (
                    k is not None
                    and k[1] in ("ok", "duplicate")
                    and k[2] == it.size
                    and k[3] == it.mtime_ns
                    and k[4] == product
                    and k[5] == stage
                ):
                    unchanged.append(FileOutcome(p, "unchanged", it.size))
                    continue
                jobs.append(_job(it, product, stage, on_error, a.staging, f"{os.getpid()}-{i}"))
            nw = max(1, min(workers or ncpu, len(jobs) or 1))
            report.workers = nw
            progress.start(len(jobs), sum(j.size for j in jobs), len(unchanged))
            for o in unchanged:
                report.outcomes.append(o)

            def execute(js: list[Job]) -> None:
                per_worker = threads or (ncpu if nw == 1 or len(js) == 1 else max(1, ncpu // nw))
                for j in js:
                    j.parallel = per_worker
                if nw == 1 or len(js) == 1:
                    _run_inline(run, js, per_worker)
                else:
                    _run_pool(run, js, nw, per_worker, pools)

            execute(jobs)
            # a duplicate whose original changed in this run holds content no longer in the archive
            with a.database() as con:
                stale = {
                    r[0]
                    for r in con.execute(
                        "SELECT path FROM ingest WHERE status = 'stale' AND list_contains(?, path)", [paths]
                    ).fetchall()
                }
            if stale:
                report.outcomes = [o for o in report.outcomes if not (o.path in stale and o.status == "unchanged")]
                again = []
                for i, p in enumerate(sorted(stale)):
                    again.append(_job(by_key[p], product, stage, on_error, a.staging, f"{os.getpid()}-s{i}"))
                execute(again)
        except BaseException as e:
            # Ctrl-C, also when DuckDB turned it into its own error in the middle of a query
            if not isinstance(e, KeyboardInterrupt) and not _is_interrupt(e):
                raise
            report.interrupted = True
            _DEFER.set()
            try:
                run.commit()  # what is finished stays (the intent protocol makes this safe)
            except BaseException:
                pass
        finally:
            _DEFER.set()
            progress.stop()
        report.seconds = time.perf_counter() - t0
        with a.database() as con:
            a.recover(con)  # a commit interrupted half way (Ctrl-C) is completed now
            if report.count("ok"):
                a.create_views(con)
            status = "interrupted" if report.interrupted else ("failures" if report.failed else "complete")
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, n_ok = ?, n_unchanged = ?, n_duplicate = ?, "
                "n_failed = ?, bytes_in = ?, seconds = ? WHERE run_id = ?",
                [_utcnow(), status, report.count("ok"), report.count("unchanged"), report.count("duplicate"),
                 report.count("failed"), report.bytes_processed, report.seconds, run.run_id],
            )  # fmt: skip
        shutil.rmtree(a.staging, ignore_errors=True)
    return report


def _job(it: Item, product: str | None, stage: str | None, on_error: str, staging: str, token: str) -> Job:
    return Job(
        it.path, it.size, it.mtime_ns, product, stage, on_error, staging, token,
        key=it.key, product_default=it.product_default, stage_default=it.stage_default,
    )  # fmt: skip


def _commit_due(run: _Run, last: float, force: bool = False) -> float:
    if run.pending and (force or time.monotonic() - last >= 1.0 or len(run.pending) >= 64):
        run.commit()
        return time.monotonic()
    return last


def _run_inline(run: _Run, jobs: list[Job], threads: int) -> None:
    from .archive_worker import connect, run_job

    if not jobs:
        return
    tmp = os.path.join(run.a.staging, f"duckdb-tmp-{os.getpid()}")
    con = connect(threads, _memory_limit(1), tmp)
    run.report.route = _route(con)
    last = time.monotonic()
    try:
        for job in jobs:
            run.started[job.key or job.path] = _utcnow()
            run.pending.append(run_job(job, con))
            last = _commit_due(run, last)
        _commit_due(run, last, force=True)
    finally:
        con.close()


def _route(con: Any) -> str:
    import stdf_duck

    try:
        return str(stdf_duck.route(con))
    except Exception:
        return "?"


class WorkerPools:
    """Worker processes kept from one `materialize_items` call to the next (a sync ingests its
    downloads in batches; a pool takes about a second to start). `close()` when done."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.key: tuple[Any, ...] | None = None
        self.tmp: str | None = None

    def get(self, key: tuple[Any, ...], make: Callable[[str], Any], root: str) -> Any:
        if self.pool is not None and self.key == key:
            return self.pool
        self.close()
        # DuckDB's spill folder lives outside .staging, which every materialize empties
        self.tmp = os.path.join(root, f".tmp-{os.getpid()}-{time.monotonic_ns()}")
        self.pool, self.key = make(self.tmp), key
        return self.pool

    def discard(self) -> None:
        """Forget the pool (it broke, or the run was interrupted: the caller has killed it)."""
        self.pool, self.key = None, None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def close(self) -> None:
        if self.pool is not None:
            _kill_pool(self.pool)
        self.discard()


def _kill_pool(pool: Any) -> None:
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.kill()
        except Exception:
            pass
    for p in procs:  # reap them (no zombies; their CPU time shows in RUSAGE_CHILDREN)
        try:
            p.join(5)
        except Exception:
            pass


def _run_pool(run: _Run, jobs: list[Job], nw: int, threads: int, pools: WorkerPools | None = None) -> None:
    """Jobs in `nw` worker processes (largest first); a worker that dies takes only its own file
    down: the jobs it may have held are retried one at a time, and the one that crashes again fails."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from .archive_worker import worker_init, worker_run

    ctx = mp.get_context("spawn")
    queue = sorted(jobs, key=lambda j: -j.size)
    quarantine: list[Job] = []
    last = time.monotonic()

    def make_pool(n: int, tmp: str | None = None) -> ProcessPoolExecutor:
        tmp = tmp or os.path.join(run.a.staging, f"duckdb-tmp-{os.getpid()}-{time.monotonic_ns()}")
        return ProcessPoolExecutor(
            n, mp_context=ctx, initializer=worker_init, initargs=(os.getpid(), threads, _memory_limit(n), tmp)
        )

    kill = _kill_pool

    def main_pool() -> ProcessPoolExecutor:
        if pools is None:
            return make_pool(nw)
        return pools.get((nw, threads), lambda tmp: make_pool(nw, tmp), run.a.root)  # type: ignore[no-any-return]

    pool = main_pool()
    done_ok = False
    inflight: dict[Future[JobResult], Job] = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < 2 * nw:
                job = queue.pop(0)
                run.started[job.key or job.path] = _utcnow()
                inflight[pool.submit(worker_run, job)] = job
            done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                job = inflight.pop(fut)
                try:
                    res = fut.result()
                    if not run.report.route:
                        run.report.route = res.route
                    run.pending.append(res)
                except BrokenProcessPool:
                    broken = True
                    quarantine.append(job)
                except Exception as e:  # pragma: no cover - run_job catches file errors itself
                    run.pending.append(JobResult(job.key or job.path, job.size, job.mtime_ns, "failed", error=one_line(e)))
            if broken:
                quarantine.extend(inflight.values())
                inflight.clear()
                kill(pool)
                if pools is not None:
                    pools.discard()
                for job in quarantine:  # alone in a fresh worker: a second crash is this file's
                    single = make_pool(1)
                    try:
                        run.pending.append(single.submit(worker_run, job).result())
                    except BrokenProcessPool:
                        run.pending.append(
                            JobResult(job.key or job.path, job.size, job.mtime_ns, "failed", error="the worker process crashed reading this file")
                        )
                    finally:
                        kill(single)
                quarantine.clear()
                pool = main_pool()
            last = _commit_due(run, last, force=not queue and not inflight)
        _commit_due(run, last, force=True)
        done_ok = True
    finally:
        if pools is None or not done_ok:  # an interrupted pool is never reused
            kill(pool)
            if pools is not None:
                pools.discard()
