"""`materialize`: STDF files -> the archive, incrementally (see the package doc for the rules)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from collections.abc import Sequence
from typing import NamedTuple

from ._sql import named, scalar
from .commit import Run
from .ledger import IN_ARCHIVE, KNOWN_BAD, rerun, utcnow
from .model import FileOutcome, MaterializeOptions, MaterializeReport, Progress
from .pool import WorkerPools, run_inline, run_pool
from .signals import DEFER, INTERRUPTED, interrupt_handlers, is_interrupt
from .sources import Item, discover
from .store import Archive
from .worker import Job


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
    options: MaterializeOptions | None = None,
) -> MaterializeReport:
    """STDF files, directories or globs -> the Hive-partitioned Parquet archive at `archive`.

    product, stage, workers, on_error, threads, retry_failed: see `MaterializeOptions` (or give
    `options` instead of them).

    Raises SourceError (a missing source), ArchiveBusyError (another run holds the archive);
    failures of single files are in the report (`report.failed`), never raised. A
    KeyboardInterrupt stops the run (what is finished is kept) and sets `report.interrupted`.
    """
    given = MaterializeOptions(product, stage, workers, threads, on_error, retry_failed)
    if options is not None and given != MaterializeOptions():
        raise TypeError("materialize: give either options or the keywords, not both")
    items = discover(sources)  # a file that cannot be read is an item too: it is reported
    return materialize_items(items, archive, options or given, progress=progress, command=command)


def materialize_items(
    items: Sequence[Item],
    archive: str | os.PathLike[str],
    options: MaterializeOptions | None = None,
    *,
    progress: Progress | None = None,
    command: str | None = None,
    lock_held: bool = False,
    pools: WorkerPools | None = None,
) -> MaterializeReport:
    """`materialize` for explicit items (see `Item`): the ledger knows each by its key, a key
    already in the ledger with the same size and mtime is 'unchanged' (or 'skipped' when it failed,
    unless options.retry_failed). lock_held: the caller holds `Archive.lock()` (a sync does, for its
    whole run). pools: worker processes kept across calls (a sync's batches); the caller closes it."""
    opts = options or MaterializeOptions()
    with interrupt_handlers() as seen:
        a = Archive(archive)
        report = MaterializeReport(archive=a.root)
        run = Run(a, opts, progress or Progress(), report)
        with contextlib.nullcontext() if lock_held else a.lock():
            _materialize(run, list(items), command, pools, hold=not lock_held)
    if seen.is_set():  # a Ctrl-C deferred by the closing bookkeeping still stops the caller (a sync)
        report.interrupted = True
    return report


def _materialize(run: Run, items: list[Item], command: str | None, pools: WorkerPools | None, hold: bool) -> None:
    """One run, the archive's lock held: set up, plan, write (the jobs, then the duplicates whose
    original changed), record the end. An interrupt keeps what is finished. hold: one ledger
    connection for the whole run (not under a sync, whose threads open the ledger too)."""
    by_key: dict[str, Item] = {}
    for it in items:
        by_key.setdefault(it.key, it)
    a = run.a
    t0 = time.perf_counter()
    a.init()
    with a.ledger.held() if hold else contextlib.nullcontext():
        _run(run, by_key, command, pools, t0)


def _run(run: Run, by_key: dict[str, Item], command: str | None, pools: WorkerPools | None, t0: float) -> None:
    a, report = run.a, run.report
    known = _start(run, list(by_key), command)
    try:
        DEFER.clear()
        if INTERRUPTED.is_set():  # Ctrl-C during the setup
            raise KeyboardInterrupt
        jobs, settled = _plan(run, by_key, known)
        report.workers = run.options.n_workers(len(jobs))
        run.progress.start(len(jobs), sum(j.size for j in jobs), len(settled))
        report.outcomes.extend(settled)
        _execute(run, jobs, pools)
        # a duplicate whose original changed in this run holds content no longer in the archive
        with a.ledger.open() as con:
            sql = "SELECT path FROM ingest WHERE status = 'stale' AND list_contains(?, path)"
            stale = {r.path for r in named(con, _Path, sql, [list(by_key)])}
        if stale:
            report.outcomes = [o for o in report.outcomes if not (o.path in stale and o.status == "unchanged")]
            _execute(run, [_job(run, by_key[p], f"{os.getpid()}-s{i}") for i, p in enumerate(sorted(stale))], pools)
    except BaseException as e:
        # Ctrl-C, also when DuckDB turned it into its own error in the middle of a query
        if not isinstance(e, KeyboardInterrupt) and not is_interrupt(e):
            raise
        report.interrupted = True
        DEFER.set()
        try:
            run.commit()  # what is finished stays (the intent protocol makes this safe)
        except BaseException:
            pass
    finally:
        DEFER.set()
        run.progress.stop()
    if INTERRUPTED.is_set():  # an interrupt while the bookkeeping deferred it
        report.interrupted = True
    report.seconds = time.perf_counter() - t0
    _finish(run)
    shutil.rmtree(a.staging, ignore_errors=True)


def _execute(run: Run, jobs: list[Job], pools: WorkerPools | None) -> None:
    nw = run.report.workers
    per_worker = run.options.threads_per_worker(nw, len(jobs))
    for j in jobs:
        j.parallel = per_worker
    if nw == 1 or len(jobs) == 1:
        run_inline(run, jobs, per_worker)
    else:
        run_pool(run, jobs, nw, per_worker, pools)


class _Path(NamedTuple):
    path: str


class _Known(NamedTuple):
    """What the ledger knows of a source before a run."""

    path: str
    status: str
    size: int
    mtime_ns: int
    product: str | None
    stage: str | None


def _start(run: Run, paths: list[str], command: str | None) -> dict[str, _Known]:
    """Set the archive up for a run (create, migrate, recover), record the run; returns what the
    ledger knows of these paths."""
    import stdf_duck

    a = run.a
    run.writer = f"stdf_duck {stdf_duck.__version__}"
    with a.ledger.open() as con:
        a.ledger.recover(con)
        con.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'")  # we hold the lock: it died
        run.run_id = int(scalar(con, "SELECT coalesce(max(run_id), 0) + 1 FROM runs"))
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, pid, host, command, n_sources) "
            "VALUES (?, ?, 'running', ?, ?, ?, ?)",
            [run.run_id, utcnow(), os.getpid(), socket.gethostname(), command, len(paths)],
        )
        sql = "SELECT path, status, size, mtime_ns, product, stage FROM ingest WHERE list_contains(?, path)"
        known = {k.path: k for k in named(con, _Known, sql, [paths])}
        a.publish(con, force=False)  # the running run (a new archive's catalog is just written)
    run.report.run_id = run.run_id
    a.clean_staging()
    return known


def _plan(run: Run, by_key: dict[str, Item], known: dict[str, _Known]) -> tuple[list[Job], list[FileOutcome]]:
    """The jobs of a run, and the outcomes of the files it does not read (`ledger.rerun`)."""
    opts = run.options
    jobs: list[Job] = []
    settled: list[FileOutcome] = []
    for i, (p, it) in enumerate(by_key.items()):
        k = known.get(p)
        same = k is not None and (k.size, k.mtime_ns, k.product, k.stage) == (
            it.size,
            it.mtime_ns,
            opts.product,
            opts.stage,
        )
        in_archive = k is not None and k.status in IN_ARCHIVE
        action = rerun(in_archive, k is not None and k.status == "failed", same, opts.retry_failed)
        if action == "unchanged":
            settled.append(FileOutcome(p, "unchanged", it.size))
        elif action == "skip":
            settled.append(FileOutcome(p, "skipped", it.size, error=KNOWN_BAD))
        else:
            jobs.append(_job(run, it, f"{os.getpid()}-{i}"))
    return jobs, settled


def _finish(run: Run) -> None:
    """Complete an interrupted commit, record the end of the run, publish."""
    rep = run.report
    with run.a.ledger.open() as con:
        run.a.ledger.recover(con)  # a commit interrupted half way (Ctrl-C) is completed now
        status = "interrupted" if rep.interrupted else ("failures" if rep.failed or rep.partial else "complete")
        counts = [rep.count(s) for s in ("ok", "unchanged", "duplicate", "failed", "partial", "skipped")]
        con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, n_ok = ?, n_unchanged = ?, n_duplicate = ?, n_failed = ?, "
            "n_partial = ?, n_skipped = ?, bytes_in = ?, seconds = ? WHERE run_id = ?",
            [utcnow(), status, *counts, rep.bytes_processed, rep.seconds, run.run_id],
        )
        run.a.publish(con)


def _job(run: Run, it: Item, token: str) -> Job:
    opts = run.options
    return Job(
        it.path,
        it.size,
        it.mtime_ns,
        opts.product,
        opts.stage,
        opts.on_error,
        run.a.staging,
        token,
        key=it.key,
        product_default=it.product_default,
        stage_default=it.stage_default,
        error=it.error,
        max_ratio=it.max_ratio,
        max_stream_bytes=it.max_stream_bytes,
    )
