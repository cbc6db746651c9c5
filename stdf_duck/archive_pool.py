"""How a materialize runs its jobs: in the parent (one worker) or in worker processes.

`run` is the parent's `stdf_duck.archive._Run`: finished jobs go to `run.pending`, and
`run.commit()` publishes them at least every second (or 64 files), so a long run shows its
progress in the archive as it goes.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from typing import Any

from .archive_worker import Job, JobResult, one_line
from .ledger import utcnow as _utcnow


def _memory_limit(workers: int) -> str | None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return f"{max(256, int(total * 0.6 / max(workers, 1) / 2**20))}MB"


def _commit_due(run: Any, last: float, force: bool = False) -> float:
    if run.pending and (force or time.monotonic() - last >= 1.0 or len(run.pending) >= 64):
        run.commit()
        return time.monotonic()
    return last


def run_inline(run: Any, jobs: list[Job], threads: int) -> None:
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


def run_pool(run: Any, jobs: list[Job], nw: int, threads: int, pools: WorkerPools | None = None) -> None:
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
                    run.pending.append(
                        JobResult(job.key or job.path, job.size, job.mtime_ns, "failed", error=one_line(e))
                    )
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
                            JobResult(
                                job.key or job.path,
                                job.size,
                                job.mtime_ns,
                                "failed",
                                error="the worker process crashed reading this file",
                            )
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
