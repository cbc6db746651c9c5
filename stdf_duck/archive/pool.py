"""How a materialize runs its jobs: in the parent (one worker) or in worker processes.

`run` is the parent's `stdf_duck.archive.commit.Run`: finished jobs go to `run.pending`, and
`run.commit()` publishes them at least every second (or 64 files), so a long run shows its
progress in the archive as it goes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from .._errors import one_line
from .ledger import utcnow
from .worker import ROUTE, Job, JobResult


def _commit_due(run: Any, last: float, force: bool = False) -> float:
    if run.pending and (force or time.monotonic() - last >= 1.0 or len(run.pending) >= 64):
        run.commit()
        return time.monotonic()
    return last


def run_inline(run: Any, jobs: list[Job], threads: int) -> None:
    from .worker import run_job

    if not jobs:
        return
    run.report.route = ROUTE
    last = time.monotonic()
    for job in jobs:
        run.started[job.key or job.path] = utcnow()
        run.pending.append(run_job(job))
        last = _commit_due(run, last)
    _commit_due(run, last, force=True)


class WorkerPools:
    """Worker processes kept from one `materialize_items` call to the next (a sync ingests its
    downloads in batches; a pool takes about a second to start). `close()` when done."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.key: tuple[Any, ...] | None = None

    def get(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        if self.pool is not None and self.key == key:
            return self.pool
        self.close()
        self.pool, self.key = make(), key
        return self.pool

    def discard(self) -> None:
        """Forget the pool (it broke, or the run was interrupted: the caller has killed it)."""
        self.pool, self.key = None, None

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


def _failed(job: Job, error: str) -> JobResult:
    return JobResult(job.key or job.path, job.size, job.mtime_ns, "failed", error=error)


class _Pool:
    """The worker processes of one `run_pool` call: `nw` of them, or one per quarantined job."""

    def __init__(self, run: Any, nw: int, threads: int, pools: WorkerPools | None) -> None:
        import multiprocessing as mp

        self.run, self.nw, self.threads, self.pools = run, nw, threads, pools
        self.ctx = mp.get_context("spawn")

    def make(self, n: int) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        from .worker import worker_init

        return ProcessPoolExecutor(n, mp_context=self.ctx, initializer=worker_init, initargs=(os.getpid(),))

    def main(self) -> Any:
        if self.pools is None:
            return self.make(self.nw)
        return self.pools.get((self.nw, self.threads), lambda: self.make(self.nw))

    def forget(self, pool: Any) -> None:
        _kill_pool(pool)
        if self.pools is not None:
            self.pools.discard()

    def alone(self, quarantine: list[Job]) -> None:
        """Each job alone in a fresh worker: a second crash is this file's."""
        from concurrent.futures.process import BrokenProcessPool

        from .worker import worker_run

        for job in quarantine:
            single = self.make(1)
            try:
                self.run.pending.append(single.submit(worker_run, job).result())
            except BrokenProcessPool:
                self.run.pending.append(_failed(job, "the worker process crashed reading this file"))
            finally:
                _kill_pool(single)


def _collect(run: Any, done: set[Any], inflight: dict[Any, Job], quarantine: list[Job]) -> bool:
    """Finished futures -> run.pending; returns True when the pool broke (a worker died)."""
    from concurrent.futures.process import BrokenProcessPool

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
            run.pending.append(_failed(job, one_line(e)))
    return broken


def run_pool(run: Any, jobs: list[Job], nw: int, threads: int, pools: WorkerPools | None = None) -> None:
    """Jobs in `nw` worker processes (largest first); a worker that dies takes only its own file
    down: the jobs it may have held are retried one at a time, and the one that crashes again fails."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    from .worker import worker_run

    queue = sorted(jobs, key=lambda j: -j.size)
    last = time.monotonic()
    procs = _Pool(run, nw, threads, pools)
    pool = procs.main()
    done_ok = False
    inflight: dict[Future[JobResult], Job] = {}
    try:
        while queue or inflight:
            while queue and len(inflight) < 2 * nw:
                job = queue.pop(0)
                run.started[job.key or job.path] = utcnow()
                inflight[pool.submit(worker_run, job)] = job
            done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            quarantine: list[Job] = []
            if _collect(run, done, inflight, quarantine):
                quarantine.extend(inflight.values())
                inflight.clear()
                procs.forget(pool)
                procs.alone(quarantine)
                pool = procs.main()
            last = _commit_due(run, last, force=not queue and not inflight)
        _commit_due(run, last, force=True)
        done_ok = True
    finally:
        if pools is None or not done_ok:  # an interrupted pool is never reused
            procs.forget(pool)
