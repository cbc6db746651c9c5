"""The Parquet archive: `stdf-duck materialize` as a library.

Layout of an archive directory DIR (stdf-reference.md section 4.11)::

    DIR/<table>/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet    (zstd), for the tables
                                        parts, results, tests, bins, wafers, warnings, files
    DIR/archive.duckdb                  the catalog readers open: a view per table over the Parquet
                                        files above, and a copy of the ledger (stdf_duck.catalog)
    DIR/_ledger/ledger.duckdb           the ledger: tables ingest, runs, sync_files, syncs
                                        (opened by writers only: stdf_duck.ledger)
    DIR/.staging/                       temporary files of a run (never read by the views)
    DIR/.lock                           held by the running materialize or sync

Readers and writers share no lock. A writer (materialize, sync) never opens archive.duckdb: after
its commits it writes a new one and renames it over the old one. Readers (`stdf-duck query`,
`status`, the DuckDB CLI, a dashboard) never open the ledger. So a reader left open all day does
not stop a writer, and a writer does not break a reader (which keeps its file, whose views read
the Parquet files: it sees the new rows).

How it stays consistent:

* a worker writes one source file's tables to `.staging/` only (`archive_worker.run_job`);
* the parent then records an intent in the ledger (status 'committing', the temporary and final
  names), renames the files into place (atomic on one file system), deletes the files the source
  had before (a changed file), marks the row 'ok' (or 'partial': the decode of the file ended on
  damage, its rows before the damage are in and the damage is in the `warnings` view) and publishes
  a new catalog. A run that starts after a kill first rolls every 'committing' row
  forward, then empties `.staging/`. A kill at any moment therefore leaves no partial Parquet file
  visible, and the next run completes the work;
* a source the ledger has with the same size, mtime and options is not read again: 'unchanged'
  when its rows are in, 'skipped' when it failed (it was reported then and `status` lists it;
  `retry_failed` reads it again): the rule `stdf-duck sync` follows too (`ledger.rerun`). A source
  with the same `file_id` or `content_hash` as another source already in the archive is recorded as
  a 'duplicate' and adds no rows;
* one writer at a time per archive: `DIR/.lock` (an OS file lock, released when the process
  dies) refuses a second one with `ArchiveBusyError`;
* an archive written by an older stdf_duck (its ledger inside archive.duckdb) moves its ledger to
  DIR/_ledger on its first write; readers read it where it is.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from . import catalog
from .archive_pool import WorkerPools, run_inline, run_pool
from .archive_worker import (
    ARCHIVE_TABLES,
    INTERRUPTED,
    NULL_PARTITION,
    PARTITION_COLUMNS,
    Job,
    JobResult,
    _is_interrupt,
    render,
    sanitize,
)
from .catalog import DB_NAME
from .discovery import Item, SourceError, discover, expand_sources, looks_like_stdf  # noqa: F401 (sources: found there)
from .ledger import (
    FINAL_STATUS,
    IN_ARCHIVE,
    KNOWN_BAD,
    ArchiveBusyError,
    ArchiveError,
    FileLock,
    Ledger,
    fsync_path,
    remove,
    rerun,
    unlink_output,
)
from .ledger import utcnow as _utcnow

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

STAGING = ".staging"
LOCK_NAME = ".lock"

#: ok: written; partial: written up to the damage its decode ended on; unchanged: in the archive
#: already; duplicate: its content is in the archive under another path; skipped: failed before
#: with the same size and mtime (not read again); failed: nothing written, see `error`
Status = Literal["ok", "partial", "unchanged", "duplicate", "skipped", "failed"]
#: outcomes of the files read in a run
_READ = ("ok", "partial", "duplicate", "failed")


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
    def partial(self) -> list[FileOutcome]:
        """Files written up to the damage their decode ended on (`error` says where)."""
        return [o for o in self.outcomes if o.status == "partial"]

    @property
    def bytes_written(self) -> int:
        """Bytes of STDF (on disk) of the files materialized in this run."""
        return sum(o.size for o in self.outcomes if o.status in ("ok", "partial", "duplicate"))

    @property
    def bytes_processed(self) -> int:
        """Bytes on disk of the files read in this run (not the unchanged or skipped ones)."""
        return sum(o.size for o in self.outcomes if o.status in _READ)

    @property
    def stream_bytes_processed(self) -> int:
        """Decompressed STDF bytes of the files read in this run."""
        return sum(o.stream_size or o.size for o in self.outcomes if o.status in _READ)

    def rows(self) -> dict[str, int]:
        tot = {t: 0 for t in ARCHIVE_TABLES}
        for o in self.outcomes:
            if o.status in ("ok", "partial"):
                for t, n in o.rows.items():
                    tot[t] = tot.get(t, 0) + n
        return tot

    @property
    def ok(self) -> bool:
        """No file failed or lost rows in this run (files skipped as known bad do not count:
        they were reported when first seen), and the run was not interrupted."""
        return not self.failed and not self.partial and not self.interrupted


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


class Archive:
    """An archive directory (created on first use by `materialize`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.ledger = Ledger(self.root)
        self._published = 0.0  # time.monotonic() of the last catalog written

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
        return catalog.table_glob(self.root, table)

    def has_files(self, table: str) -> bool:
        return catalog.has_files(self.root, table)

    @contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Exclusive writer lock; ArchiveBusyError when another process holds it (after waiting
        up to `wait` seconds for it)."""
        os.makedirs(self.root, exist_ok=True)
        lk = FileLock(os.path.join(self.root, LOCK_NAME))
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

    def init(self) -> None:
        """Create the archive (its ledger and catalog), or move the ledger of an older
        archive out of its archive.duckdb. For a writer that holds `lock()`."""
        os.makedirs(self.root, exist_ok=True)
        created = not os.path.isfile(self.ledger.path)
        if created:
            self.ledger.create(self.db_path)
        with self.ledger.open() as con:
            con.execute(render("ledger"))
            con.execute(render("sync"))
            if created or not os.path.isfile(self.db_path):
                self.publish(con)

    def publish(self, con: Any, force: bool = True) -> None:
        """Show readers the archive as the writer's ledger connection `con` has it: a new catalog
        (not force: only when the last one is `catalog.PUBLISH_EVERY` seconds old)."""
        if force or time.monotonic() - self._published >= catalog.PUBLISH_EVERY:
            catalog.publish(self.root, con)
            self._published = time.monotonic()

    def reader(self) -> Any:
        """An in-memory DuckDB connection with the archive's views and ledger (it holds nothing open)."""
        return catalog.reader(self.root)

    def clean_staging(self) -> None:
        if os.path.isdir(self.staging):
            shutil.rmtree(self.staging, ignore_errors=True)
        os.makedirs(self.staging, exist_ok=True)


# ---- materialize -----------------------------------------------------------------------------


def _mtime(ns: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).replace(tzinfo=None)


_ROWS = tuple(f"rows_{t}" for t in ARCHIVE_TABLES)


@dataclass
class _Index:
    """What the ledger knows of the archive's content, for one commit."""

    by_id: dict[str, str]  # file_id -> the path whose rows hold it
    by_hash: dict[str, str]  # content_hash -> path
    referenced: dict[str, str]  # output (relative) -> path
    prev: dict[str, tuple[Any, ...]]  # path -> (path, status, outputs, file_id, content_hash, rows_*)

    @classmethod
    def load(cls, con: Any, paths: list[str]) -> _Index:
        idx = cls({}, {}, {}, {})
        for p, fid, ch, outs in con.execute(
            "SELECT path, file_id, content_hash, outputs FROM ingest "
            "WHERE status IN ('ok', 'partial', 'committing') OR (status = 'failed' AND len(outputs) > 0)"
        ).fetchall():
            if fid:
                idx.by_id[fid] = p
            if ch:
                idx.by_hash[ch] = p
            for rel in outs or []:
                idx.referenced[rel] = p
        idx.prev = {
            r[0]: r
            for r in con.execute(
                f"SELECT path, status, outputs, file_id, content_hash, {', '.join(_ROWS)} FROM ingest "
                "WHERE list_contains(?, path)",
                [paths],
            ).fetchall()
        }
        return idx

    def owner(self, r: JobResult) -> str | None:
        """The other path whose rows hold this content (r is then a duplicate)."""
        if r.file_id and self.by_id.get(r.file_id, r.path) != r.path:
            return self.by_id[r.file_id]
        if r.content_hash and self.by_hash.get(r.content_hash, r.path) != r.path:
            return self.by_hash[r.content_hash]
        return None

    def take(self, r: JobResult, new_rel: list[str]) -> None:
        """r.path now holds r's content (and no longer its previous one)."""
        prev = self.prev.get(r.path)
        if prev is not None:
            if self.by_id.get(prev[3]) == r.path:
                del self.by_id[prev[3]]
            if self.by_hash.get(prev[4]) == r.path:
                del self.by_hash[prev[4]]
        self.by_id[r.file_id or ""] = r.path
        if r.content_hash:
            self.by_hash[r.content_hash] = r.path
        for rel in new_rel:
            self.referenced[rel] = r.path


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
        self.run_id = 0
        self.writer = ""

    def commit(self) -> None:
        """Publish every finished job: intent, renames, deletions, final status, catalog (see
        the module doc)."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        for r in batch:  # the data is on disk before the ledger says it can be published
            for tmp, _rel in r.outputs:
                fsync_path(tmp)
        with self.a.ledger.open() as con:
            idx = _Index.load(con, [r.path for r in batch])
            rows, publish, stale, outcomes = self._decide(batch, idx)
            con.execute("BEGIN TRANSACTION")
            Ledger.upsert(con, rows)
            if stale:  # duplicates of content that is now gone must be ingested again
                con.execute(
                    "UPDATE ingest SET status = 'stale' WHERE status = 'duplicate' AND list_contains(?, duplicate_of) "
                    "AND NOT list_contains(?, path)",
                    [stale, [r["path"] for r in rows]],
                )
            con.execute("COMMIT")
            first = bool(publish) and not self.a.has_files("files")
            self._move_into_place(publish)
            if publish:
                con.execute(
                    f"UPDATE ingest SET status = {FINAL_STATUS}, staged = NULL, replaced = NULL "
                    "WHERE status = 'committing' AND list_contains(?, path)",
                    [[r.path for r, _ in publish]],
                )
            self.a.publish(con, force=first)  # the first files (new views) at once
        for o in outcomes:
            self.report.outcomes.append(o)
            self.progress.file_done(o)

    def _decide(
        self, batch: list[JobResult], idx: _Index
    ) -> tuple[list[dict[str, Any]], list[tuple[JobResult, list[str]]], list[str], list[FileOutcome]]:
        """The ledger rows of a batch, the files to publish (with the outputs they replace), the
        paths whose previous content left the archive, and the outcomes."""
        now = _utcnow()
        rows: list[dict[str, Any]] = []
        publish: list[tuple[JobResult, list[str]]] = []
        stale: list[str] = []
        outcomes: list[FileOutcome] = []
        for r in batch:
            prev = idx.prev.get(r.path)
            prev_outputs = list(prev[2] or []) if prev else []
            base: dict[str, Any] = {
                "path": r.path,
                "size": r.size,
                "mtime": _mtime(r.mtime_ns),
                "mtime_ns": r.mtime_ns,
                "product": self.product,
                "stage": self.stage,
                "on_error": self.on_error,
                "seconds": r.seconds,
                "started_at": self.started.get(r.path, now),
                "finished_at": now,
                "run_id": self.run_id,
                "writer": f"{self.writer} {r.route}".strip(),
            }
            if r.status != "ok":
                row = dict(base, status="failed", error=r.error, n_warnings=r.n_warnings)
                if (
                    prev and prev_outputs and prev[1] in ("ok", "partial", "failed")
                ):  # old rows stay until it reads again
                    row.update(
                        outputs=prev_outputs,
                        file_id=prev[3],
                        content_hash=prev[4],
                        **dict(zip(_ROWS, prev[5:], strict=True)),
                    )
                rows.append(row)
                outcomes.append(
                    FileOutcome(r.path, "failed", r.size, seconds=r.seconds, error=r.error, stream_size=r.stream_size)
                )
                continue
            ident = {
                "file_id": r.file_id,
                "content_hash": r.content_hash,
                "n_streams": r.n_streams,
                "stream_size": r.stream_size,
                "n_warnings": r.n_warnings,
                "damage": r.damage,
            }
            other = idx.owner(r)
            if other is not None:
                for tmp, _rel in r.outputs:
                    remove(tmp)
                replaced = [x for x in prev_outputs if idx.referenced.get(x) == r.path]
                rows.append(
                    dict(
                        base,
                        **ident,
                        status="committing" if replaced else "duplicate",
                        duplicate_of=other,
                        outputs=[],
                        staged=[],
                        replaced=replaced or None,
                    )
                )
                if replaced:
                    publish.append((JobResult(r.path, r.size, r.mtime_ns, "duplicate"), replaced))
                    stale.append(r.path)
                outcomes.append(
                    FileOutcome(
                        r.path,
                        "duplicate",
                        r.size,
                        seconds=r.seconds,
                        duplicate_of=other,
                        file_id=r.file_id,
                        stream_size=r.stream_size,
                    )
                )
                continue
            new_rel = [rel for _tmp, rel in r.outputs]
            keep = set(new_rel)
            replaced = [x for x in prev_outputs if x not in keep and idx.referenced.get(x, r.path) == r.path]
            if prev_outputs and (prev is None or prev[3] != r.file_id or prev[4] != r.content_hash):
                stale.append(r.path)
            first = r.partitions[0] if r.partitions else (None, None, None)
            rows.append(
                dict(
                    base,
                    **ident,
                    status="committing",
                    part_typ=first[0],
                    test_stage=first[1],
                    lot_id=first[2],
                    outputs=new_rel,
                    staged=[os.path.relpath(t, self.a.root).replace(os.sep, "/") for t, _ in r.outputs],
                    replaced=replaced,
                    **{f"rows_{t}": n for t, n in r.rows.items()},
                )
            )
            idx.take(r, new_rel)
            publish.append((r, replaced))
            outcomes.append(
                FileOutcome(
                    r.path,
                    "partial" if r.damage else "ok",
                    r.size,
                    dict(r.rows),
                    r.seconds,
                    error=r.damage,
                    file_id=r.file_id,
                    partitions=list(r.partitions),
                    stream_size=r.stream_size,
                )
            )
        return rows, publish, stale, outcomes

    def _move_into_place(self, publish: list[tuple[JobResult, list[str]]]) -> None:
        """Rename the staged files into place, then delete what their sources had before."""
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
            fsync_path(d, directory=True)
        for _r, replaced in publish:  # after every rename: only emptied directories go
            for rel in replaced:
                unlink_output(self.a.abs(rel))


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
    retry_failed: bool = False,
) -> MaterializeReport:
    """STDF files, directories or globs -> the Hive-partitioned Parquet archive at `archive`.

    product / stage: partition values for every file (default: MIR PART_TYP, and TEST_COD else
    FLOW_ID). workers: files written in parallel (default: the number of CPUs, at most the number of
    files). on_error: 'raise' (a damaged file fails) or 'warn' (keep the rows before the damage: the
    file is 'partial'). threads: DuckDB threads per worker (default: CPUs / workers). retry_failed:
    read again the files that failed before with the same size and mtime (else 'skipped').

    Raises SourceError (a missing source), ArchiveBusyError (another run holds the archive);
    failures of single files are in the report (`report.failed`), never raised. A
    KeyboardInterrupt stops the run (what is finished is kept) and sets `report.interrupted`.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError("on_error must be 'raise' or 'warn'")
    items = discover(sources)  # a file that cannot be read is an item too: it is reported
    return materialize_items(
        items,
        archive,
        product=product,
        stage=stage,
        workers=workers,
        on_error=on_error,
        progress=progress,
        command=command,
        threads=threads,
        retry_failed=retry_failed,
    )


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
    retry_failed: bool = False,
) -> MaterializeReport:
    """`materialize` for explicit items (see `Item`): the ledger knows each by its key, a key
    already in the ledger with the same size and mtime is 'unchanged' (or 'skipped' when it failed,
    unless retry_failed). lock_held: the caller holds `Archive.lock()` (a sync does, for its whole
    run). pools: worker processes kept across calls (a sync's batches); the caller closes it."""
    if on_error not in ("raise", "warn"):
        raise ValueError("on_error must be 'raise' or 'warn'")
    with _interrupt_handlers() as seen:
        report = _materialize(
            list(items),
            archive,
            product,
            stage,
            workers,
            on_error,
            progress,
            command,
            threads,
            lock_held,
            pools,
            retry_failed,
        )
    if seen.is_set():  # a Ctrl-C deferred by the closing bookkeeping still stops the caller (a sync)
        report.interrupted = True
    return report


_DEFER = threading.Event()


@contextmanager
def _interrupt_handlers() -> Iterator[threading.Event]:
    """SIGINT (and SIGTERM) raise KeyboardInterrupt and set archive_worker.INTERRUPTED, so an
    interrupt that reaches us wrapped in a DuckDB or Arrow error is still an interrupt. Yields an
    event set by any interrupt, also one that came while the bookkeeping deferred it: it is never lost."""
    import signal

    INTERRUPTED.clear()
    _DEFER.set()
    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum: int, frame: Any) -> None:
        INTERRUPTED.set()
        seen.set()
        if not _DEFER.is_set():  # setup and closing bookkeeping run to their end
            raise KeyboardInterrupt

    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            saved[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover
            pass
    try:
        yield seen
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
    retry_failed: bool = False,
) -> MaterializeReport:
    progress = progress or Progress()
    by_key: dict[str, Item] = {}
    for it in items:
        by_key.setdefault(it.key, it)
    a = Archive(archive)
    t0 = time.perf_counter()
    report = MaterializeReport(archive=a.root)
    ncpu = os.cpu_count() or 1
    with contextlib.nullcontext() if lock_held else a.lock():
        run = _Run(a, product, stage, on_error, progress, report)
        known = _start(run, list(by_key), command)
        nw = 1
        try:
            _DEFER.clear()
            if INTERRUPTED.is_set():  # Ctrl-C during the setup
                raise KeyboardInterrupt
            jobs, settled = _plan(run, by_key, known, retry_failed)
            nw = max(1, min(workers or ncpu, len(jobs) or 1))
            report.workers = nw
            progress.start(len(jobs), sum(j.size for j in jobs), len(settled))
            report.outcomes.extend(settled)

            def execute(js: list[Job]) -> None:
                per_worker = threads or (ncpu if nw == 1 or len(js) == 1 else max(1, ncpu // nw))
                for j in js:
                    j.parallel = per_worker
                if nw == 1 or len(js) == 1:
                    run_inline(run, js, per_worker)
                else:
                    run_pool(run, js, nw, per_worker, pools)

            execute(jobs)
            # a duplicate whose original changed in this run holds content no longer in the archive
            with a.ledger.open() as con:
                stale = {
                    r[0]
                    for r in con.execute(
                        "SELECT path FROM ingest WHERE status = 'stale' AND list_contains(?, path)", [list(by_key)]
                    ).fetchall()
                }
            if stale:
                report.outcomes = [o for o in report.outcomes if not (o.path in stale and o.status == "unchanged")]
                execute(
                    [
                        _job(by_key[p], product, stage, on_error, a.staging, f"{os.getpid()}-s{i}")
                        for i, p in enumerate(sorted(stale))
                    ]
                )
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
        if INTERRUPTED.is_set():  # an interrupt while the bookkeeping deferred it
            report.interrupted = True
        report.seconds = time.perf_counter() - t0
        _finish(run)
        shutil.rmtree(a.staging, ignore_errors=True)
    return report


def _start(run: _Run, paths: list[str], command: str | None) -> dict[str, tuple[Any, ...]]:
    """Set the archive up for a run (create, migrate, recover), record the run; returns what the
    ledger knows of these paths: path -> (path, status, size, mtime_ns, product, stage)."""
    import stdf_duck

    a = run.a
    a.init()
    run.writer = f"stdf_duck {stdf_duck.__version__}"
    with a.ledger.open() as con:
        a.ledger.recover(con)
        con.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'")  # we hold the lock: it died
        run.run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0])
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, pid, host, command, n_sources) VALUES (?, ?, 'running', ?, ?, ?, ?)",
            [run.run_id, _utcnow(), os.getpid(), socket.gethostname(), command, len(paths)],
        )
        known = {
            r[0]: r
            for r in con.execute(
                "SELECT path, status, size, mtime_ns, product, stage FROM ingest WHERE list_contains(?, path)", [paths]
            ).fetchall()
        }
        a.publish(con)
    run.report.run_id = run.run_id
    a.clean_staging()
    return known


def _plan(
    run: _Run, by_key: dict[str, Item], known: dict[str, tuple[Any, ...]], retry_failed: bool
) -> tuple[list[Job], list[FileOutcome]]:
    """The jobs of a run, and the outcomes of the files it does not read (`ledger.rerun`)."""
    jobs: list[Job] = []
    settled: list[FileOutcome] = []
    for i, (p, it) in enumerate(by_key.items()):
        k = known.get(p)
        same = k is not None and tuple(k[2:6]) == (it.size, it.mtime_ns, run.product, run.stage)
        action = rerun(k is not None and k[1] in IN_ARCHIVE, k is not None and k[1] == "failed", same, retry_failed)
        if action == "unchanged":
            settled.append(FileOutcome(p, "unchanged", it.size))
        elif action == "skip":
            settled.append(FileOutcome(p, "skipped", it.size, error=KNOWN_BAD))
        else:
            jobs.append(_job(it, run.product, run.stage, run.on_error, run.a.staging, f"{os.getpid()}-{i}"))
    return jobs, settled


def _finish(run: _Run) -> None:
    """Complete an interrupted commit, record the end of the run, publish."""
    rep = run.report
    with run.a.ledger.open() as con:
        run.a.ledger.recover(con)  # a commit interrupted half way (Ctrl-C) is completed now
        status = "interrupted" if rep.interrupted else ("failures" if rep.failed or rep.partial else "complete")
        con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, n_ok = ?, n_unchanged = ?, n_duplicate = ?, n_failed = ?, "
            "n_partial = ?, n_skipped = ?, bytes_in = ?, seconds = ? WHERE run_id = ?",
            [
                _utcnow(),
                status,
                rep.count("ok"),
                rep.count("unchanged"),
                rep.count("duplicate"),
                rep.count("failed"),
                rep.count("partial"),
                rep.count("skipped"),
                rep.bytes_processed,
                rep.seconds,
                run.run_id,
            ],
        )
        run.a.publish(con)


def _job(it: Item, product: str | None, stage: str | None, on_error: str, staging: str, token: str) -> Job:
    return Job(
        it.path,
        it.size,
        it.mtime_ns,
        product,
        stage,
        on_error,
        staging,
        token,
        key=it.key,
        product_default=it.product_default,
        stage_default=it.stage_default,
        error=it.error,
        max_ratio=it.max_ratio,
        max_stream_bytes=it.max_stream_bytes,
    )
