"""`sync()`: one run over the sources (the plan, the transfers, the ingestion, the ledger)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from .._errors import one_line
from ..archive import Archive, Item, WorkerPools, materialize_items
from ..config import Config
from .ledger import SyncLedger
from .model import DOWNLOADS, Stopped, SyncEntry, SyncProgress, SyncReport
from .plan import Planner
from .transfer import Downloads, Remotes

log = logging.getLogger("stdf_duck.sync")

#: a materialize outcome -> the sync state of its file
_STATE_OF = {
    "ok": "ingested",
    "partial": "partial",
    "unchanged": "ingested",
    "duplicate": "duplicate",
    "skipped": "skipped",
}


class _Sync:
    """One sync run: its parts share the stop event and the report."""

    def __init__(
        self,
        cfg: Config,
        progress: SyncProgress,
        dry_run: bool,
        ingest: bool,
        command: str | None,
        retry_failed: bool = False,
    ) -> None:
        self.cfg, self.progress, self.dry_run, self.ingest, self.command = cfg, progress, dry_run, ingest, command
        self.options = cfg.materialize_options(retry_failed=retry_failed)
        self.archive = Archive(cfg.archive)
        self.report = SyncReport(archive=self.archive.root, dry_run=dry_run)
        self.stop = threading.Event()
        self.remotes = Remotes(cfg, self.stop)
        self.ledger = SyncLedger(self.archive, cfg, self.report, dry_run)
        self.downloads = Downloads(cfg, self.archive, self.remotes, progress, self.stop, ingest)
        self.planner = Planner(
            cfg, self.remotes, self.ledger, self.downloads, progress, self.stop, dry_run, retry_failed
        )
        self.pools = WorkerPools()  # the materialize workers, kept from one batch to the next

    def run(self, names: list[str]) -> None:
        t0 = time.perf_counter()
        rep = self.report
        if not self.dry_run:
            self.ledger.start(names)
        self.listed_at = time.monotonic()
        try:
            entries = self._list_all(names)
            rep.entries = entries
            for e in entries:
                if e.action in ("reject",):
                    self.ledger.mark(e)
            self.planner.settle(entries, self.listed_at)
            for e in entries:
                if e.state == "unstable":
                    self.ledger.mark(e)
            self.ledger.flush()
            if self.dry_run:
                return
            todo = [e for e in entries if e.action == "download" and not e.state]
            ready = [e for e in entries if e.action == "ingest" and not e.state]
            for e in ready:
                e.local, _ = self.downloads.paths(e)
            if not self.ingest:  # already downloaded by an earlier --no-ingest run: they stay so
                for e in ready:
                    e.state = "downloaded"
                ready = []
            self.transfer(todo, ready)
        except (Stopped, KeyboardInterrupt):
            rep.interrupted = True
            self.stop.set()
        finally:
            self.remotes.close_all()
            self.pools.close()
            self.prune_downloads()
            rep.seconds = time.perf_counter() - t0
            if not self.dry_run:
                try:
                    self.ledger.flush()
                finally:
                    self.ledger.finish(names, t0)

    def _list_all(self, names: list[str]) -> list[SyncEntry]:
        """The entries of every source; a source that cannot be listed is in report.source_errors."""
        rep = self.report
        entries: list[SyncEntry] = []
        for n in names:
            src = self.cfg.source(n)
            self.progress.message(f"listing {src.name} ({src.display})")
            try:
                es = self.planner.list_source(src)
            except Stopped:
                raise
            except Exception as ex:
                msg = self.cfg.redact(one_line(ex))
                rep.source_errors[n] = msg
                log.error("%s: cannot list %s: %s", n, src.display, msg)
                continue
            entries.extend(es)
            n_todo = sum(1 for e in es if e.action in ("download", "ingest", "wait"))
            self.progress.listed(n, len(es), n_todo)
            log.info("%s: %d file(s) listed, %d to do", n, len(es), n_todo)
        return entries

    def transfer(self, todo: list[SyncEntry], ready: list[SyncEntry]) -> None:
        """Downloads in `download_workers` threads; each finished batch is materialized while the
        next downloads go on."""
        self.progress.download_start(len(todo), sum(e.size for e in todo if not e.in_place))
        nw = self.cfg.workers or os.cpu_count() or 1
        pool = ThreadPoolExecutor(max(1, self.cfg.download_workers), thread_name_prefix="stdf-duck-download")
        futures: dict[Future[SyncEntry], SyncEntry] = {pool.submit(self.downloads.fetch, e): e for e in todo}
        try:
            while futures or ready:
                if futures:
                    done, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
                    for f in done:
                        e = futures.pop(f)
                        f.result()
                        self.progress.download_done(e)
                        if e.state == "downloaded" and self.ingest:
                            ready.append(e)
                        else:
                            self.ledger.mark(e)
                            self.downloads.release(e)
                        if e.state in ("failed", "error"):
                            log.error("%s: %s: %s", e.source, e.rel, self.cfg.redact(e.error or ""))
                    self.ledger.flush()
                if ready and (not futures or len(ready) >= 2 * nw or self.downloads.blocked):
                    batch, ready[:] = list(ready), []
                    self.ingest_batch(batch)
                    for e in batch:
                        self.downloads.release(e)
                    self.ledger.flush()
        except BaseException:
            self.stop.set()
            for e in ready:
                self.ledger.mark(e)
            raise
        finally:
            if futures:  # downloads still queued or running: stop them
                self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self.ledger.flush()

    def ingest_batch(self, batch: list[SyncEntry]) -> None:
        items = [
            Item(
                e.local,
                key=e.key,
                size=e.size,
                mtime_ns=e.mtime_ns,
                product_default=e.product_default,
                stage_default=e.stage_default,
                max_ratio=None,
            )
            for e in batch
        ]  # verified (max_ratio None)
        rep = materialize_items(
            items,
            self.archive.root,
            self.options,
            progress=self.progress,
            command=self.command,
            lock_held=True,
            pools=self.pools,
        )
        self.report.materialize.append(rep)
        by_key = {e.key: e for e in batch}
        for o in rep.outcomes:
            e = by_key.get(o.path)
            if e is None:
                continue
            e.state = _STATE_OF.get(o.status, "failed")
            e.error = self.cfg.redact(o.error) if o.error else None
            if o.status == "duplicate":
                e.error = f"same content as {o.duplicate_of}"
        for e in batch:
            if e.state == "downloaded":  # not reached by the materialize (interrupted)
                continue
            if not e.in_place and not self.cfg.keep_downloads:
                self.downloads.discard(e)
            self.ledger.mark(e)
        if rep.interrupted:
            raise Stopped()

    def prune_downloads(self) -> None:
        """Remove the folders of ARCHIVE/.downloads left empty (partial downloads stay)."""
        top = os.path.join(self.archive.root, DOWNLOADS)
        if self.dry_run or not os.path.isdir(top):
            return
        for d, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(d)
            except OSError:
                pass


def sync(
    cfg: Config,
    sources: Sequence[str] | None = None,
    *,
    dry_run: bool = False,
    ingest: bool = True,
    wait: float = 0.0,
    progress: SyncProgress | None = None,
    command: str | None = None,
    retry_failed: bool = False,
) -> SyncReport:
    """Sync the sources named (default: all) of `cfg` into its archive (see the module doc).

    dry_run: list and classify only (report.entries[i].action), change nothing. ingest=False:
    download and verify, leave the files in ARCHIVE/.downloads for a later sync to ingest.
    wait: seconds to wait for another sync / materialize to release the archive (default:
    refuse at once with ArchiveBusyError). A failing source or file is in the report, never
    raised; Ctrl-C stops the run (what is done is kept) and sets report.interrupted.
    retry_failed: take again the files that failed on their content (after an upgrade, say);
    by default a failed file is skipped until its size or mtime changes."""
    names = [cfg.source(n).name for n in sources] if sources else [s.name for s in cfg.sources]
    s = _Sync(cfg, progress or SyncProgress(), dry_run, ingest, command, retry_failed)
    if dry_run:
        s.run(names)
        return s.report
    a = s.archive
    with a.lock(wait=wait):
        a.init()
        s.run(names)
    return s.report
