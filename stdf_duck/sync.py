"""`stdf-duck sync`: the testers' servers -> the archive, incrementally and safely.

For each source of the configuration (`stdf_duck.config`):

1. list the files (FTP/FTPS by ftplib, SFTP/S3 by fsspec, a local directory by os.walk) and keep
   those matching include/exclude; a name that would escape the staging area is 'rejected';
2. skip a file the ledger has with the same size and mtime (already ingested, or failed on its
   content); a file is taken only once its size and mtime have stayed the same for
   `stable_seconds` (else it is 'unstable': still being written, taken by a later sync);
3. download it to ARCHIVE/.downloads/<source>/<path> (a `.part` file named after the remote size
   and mtime, resumed from its length after a dropped connection, retried with exponential
   backoff), check that the remote file did not change meanwhile, verify it (a FAR record first,
   the compressed container whole, decompression bounded by `max_ratio` / `max_stream_mb`);
4. materialize it through `stdf_duck.archive.materialize_items` (ledger key: the credential-free
   URL), while the other downloads go on; then delete the download;
5. record every file's state in the table sync_files, each source's run in syncs, and refresh the
   archive's views.

The archive's lock is held from start to end: a second sync (or materialize) is refused with
ArchiveBusyError, or waits (`wait` seconds). Re-running at any time is safe: everything done is
in the ledger, a download cut by a kill resumes from its `.part` file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .archive import Archive, Item, MaterializeReport, Progress, WorkerPools, materialize_items
from .archive_worker import one_line
from .config import Config, SourceConfig
from .discovery import VerifyError, verify_stdf
from .ledger import IN_ARCHIVE, KNOWN_BAD, dicts, rerun
from .ledger import utcnow as _utcnow
from .remote import (
    TRANSIENT,
    PermanentError,
    RemoteFile,
    UnsafeNameError,
    matches,
    not_transient,
    open_remote,
    safe_relpath,
)

__all__ = ["DOWNLOADS", "SyncEntry", "SyncProgress", "SyncReport", "VerifyError", "status", "sync", "verify_stdf"]

log = logging.getLogger("stdf_duck.sync")

DOWNLOADS = ".downloads"
#: a file never waits longer than this inside one run for its size to settle (later runs see it again)
MAX_STABLE_WAIT = 600.0
#: after this many transfers of one source failed in a row (each after every retry), its other files
#: are left for the next run instead of each going through the retry policy
MAX_FAILED_IN_A_ROW = 3
#: downloaded files waiting for their ingestion, at most (a file larger than the byte bound still goes, alone)
MAX_PENDING_FILES = 64
MAX_PENDING_BYTES = 4 << 30


class _Stopped(Exception):
    """The run was interrupted (Ctrl-C)."""


@dataclass
class SyncEntry:
    """One listed file and what this run did with it."""

    source: str
    rel: str
    size: int
    mtime_ns: int
    key: str
    state: str = ""  # unchanged, ingested, duplicate, failed, error, unstable, rejected, downloaded, skipped
    action: str = ""  # the plan: unchanged, download, ingest, wait, skip, reject
    error: str | None = None
    local: str = ""
    first_seen: _dt.datetime | None = None
    attempts: int = 0
    downloaded: int = 0
    product_default: str | None = None
    stage_default: str | None = None
    in_place: bool = False


@dataclass
class SyncReport:
    archive: str
    entries: list[SyncEntry] = field(default_factory=list)
    source_errors: dict[str, str] = field(default_factory=dict)
    materialize: list[MaterializeReport] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    interrupted: bool = False
    sync_id: int | None = None

    def count(self, state: str, source: str | None = None) -> int:
        return sum(1 for e in self.entries if e.state == state and (source is None or e.source == source))

    @property
    def bytes_downloaded(self) -> int:
        return sum(e.downloaded for e in self.entries)

    @property
    def bytes_ingested(self) -> int:
        return sum(e.size for e in self.entries if e.state in ("ingested", "duplicate"))

    @property
    def failed(self) -> list[SyncEntry]:
        return [e for e in self.entries if e.state in ("failed", "error", "rejected")]

    @property
    def partial(self) -> list[SyncEntry]:
        """Files ingested up to the damage their decode ended on (reported once: a later sync
        leaves them unchanged)."""
        return [e for e in self.entries if e.state == "partial"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.partial and not self.source_errors and not self.interrupted


class SyncProgress(Progress):
    """Callbacks of `sync` (the CLI draws bars with them); the materialize callbacks come too."""

    def listed(self, source: str, n_files: int, n_todo: int) -> None:
        pass

    def download_start(self, n_files: int, n_bytes: int) -> None:
        pass

    def download_bytes(self, n: int) -> None:
        pass

    def download_done(self, entry: SyncEntry) -> None:
        pass


# ---- the run -----------------------------------------------------------------------------------


def _key(src: SourceConfig, rel: str, remote: Any) -> str:
    if getattr(remote, "in_place", False):
        return str(remote.local_path(rel))
    return src.display.rstrip("/") + "/" + rel


def _ns_time(ns: int) -> _dt.datetime | None:
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).replace(tzinfo=None) if ns else None


class _Sync:
    def __init__(
        self,
        cfg: Config,
        progress: SyncProgress,
        dry_run: bool,
        ingest: bool,
        command: str | None,
        retry_failed: bool = False,
    ) -> None:
        self.cfg = cfg
        self.retry_failed = retry_failed
        self.progress = progress
        self.dry_run = dry_run
        self.ingest = ingest
        self.command = command
        self.archive = Archive(cfg.archive)
        self.report = SyncReport(archive=self.archive.root, dry_run=dry_run)
        self.stop = threading.Event()
        self.local = threading.local()
        self.remotes: list[Any] = []
        self.remotes_lock = threading.Lock()
        self.sources = {s.name: s for s in cfg.sources}
        self.dirty: list[SyncEntry] = []
        self.dirty_lock = threading.Lock()
        self.down: dict[str, int] = {}  # source -> transfers failed in a row (after all their attempts)
        self.down_lock = threading.Lock()
        # files downloaded but not yet ingested are bounded (the staging disk does not fill up when
        # downloads are faster than decoding): a download takes a slot, its ingestion gives it back
        self.pending = threading.Condition()
        self.pending_files = 0
        self.pending_bytes = 0
        self.holding: set[int] = set()
        self.blocked: set[int] = set()
        self.pools = WorkerPools()  # the materialize workers, kept from one batch to the next

    # -- helpers ---------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return self.cfg.redact(text)

    def remote(self, src: SourceConfig) -> Any:
        """This thread's connection to `src` (one per thread and source)."""
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        r = conns.get(src.name)
        if r is None:
            r = conns[src.name] = open_remote(src, self.cfg.timeout_seconds)
            with self.remotes_lock:
                self.remotes.append(r)
        return r

    def retry(self, what: str, src: SourceConfig, fn: Callable[[Any], Any], entry: SyncEntry | None = None) -> Any:
        """fn(remote) with the retry policy: a transient error closes the connection, waits
        (exponential backoff) and tries again, up to `retry.attempts` attempts."""
        delay = self.cfg.backoff_seconds
        attempt = 0
        while True:
            attempt += 1
            if entry is not None:
                entry.attempts = attempt
            r = self.remote(src)
            try:
                return fn(r)
            except (PermanentError, _Stopped, VerifyError, UnsafeNameError):
                raise
            except TRANSIENT as e:
                try:
                    r.close()
                except Exception:
                    pass
                permanent = not_transient(e, src)
                if permanent is not None:
                    raise permanent from None
                if self.stop.is_set():
                    raise _Stopped() from None
                if attempt >= self.cfg.attempts:
                    raise
                log.warning(
                    "%s: %s failed (attempt %d of %d): %s; retrying in %.1f s",
                    src.name,
                    what,
                    attempt,
                    self.cfg.attempts,
                    self.redact(one_line(e)),
                    delay,
                )
                if self.stop.wait(delay):
                    raise _Stopped() from None
                delay = min(max(delay * 2, 0.1), self.cfg.max_backoff_seconds)

    def close_all(self) -> None:
        with self.remotes_lock:
            for r in self.remotes:
                try:
                    r.close()
                except Exception:
                    pass
            self.remotes.clear()

    # -- ledger ----------------------------------------------------------------------------------

    def mark(self, e: SyncEntry) -> None:
        with self.dirty_lock:
            self.dirty.append(e)

    def flush(self) -> None:
        if self.dry_run:
            return
        with self.dirty_lock:
            batch, self.dirty = self.dirty, []
        if not batch:
            return
        now = _utcnow()
        latest: dict[tuple[str, str], SyncEntry] = {}
        for e in batch:
            latest[(e.source, e.rel)] = e
        with self.archive.ledger.open() as con:
            con.execute("BEGIN TRANSACTION")
            for src in {s for s, _ in latest}:
                con.execute(
                    "DELETE FROM sync_files WHERE source = ? AND list_contains(?, remote)",
                    [src, [r for s, r in latest if s == src]],
                )
            con.executemany(
                "INSERT INTO sync_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        e.source,
                        e.rel,
                        e.key,
                        max(e.size, 0),
                        e.mtime_ns,
                        _ns_time(e.mtime_ns),
                        e.state,
                        e.first_seen or now,
                        now,
                        e.attempts,
                        e.downloaded,
                        self.redact(e.error) if e.error else None,
                        self.report.sync_id,
                        now,
                    ]
                    for e in latest.values()
                ],
            )
            con.execute("COMMIT")
            self.archive.publish(con, force=False)

    def known(self, src: str) -> dict[str, tuple[Any, ...]]:
        """remote -> (remote, size, mtime_ns, state, first_seen, ingest status, key) of one source:
        from the ledger (the lock is ours), or in a dry run (no lock) from the catalog's copy."""
        if not os.path.isfile(self.archive.db_path):
            return {}
        sql = (
            "SELECT s.remote, s.size, s.mtime_ns, s.state, s.first_seen, i.status, s.key FROM sync_files s "
            "LEFT JOIN ingest i ON i.path = s.key WHERE s.source = ?"
        )
        con_cm = contextlib.closing(self.archive.reader()) if self.dry_run else self.archive.ledger.open()
        with con_cm as con:
            if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'sync_files'").fetchall():
                return {}
            rows = con.execute(sql, [src]).fetchall()
        return {r[0]: r for r in rows}

    # -- phases ----------------------------------------------------------------------------------

    def list_source(self, src: SourceConfig) -> list[SyncEntry]:
        """List, filter and classify the files of one source (SyncEntry.action)."""
        listing = self.retry("listing", src, lambda r: r.list())
        r = self.remote(src)
        prev = self.known(src.name)
        now = _utcnow()
        stable_before = now - _dt.timedelta(seconds=self.cfg.stable_seconds)
        out: list[SyncEntry] = []
        for name, size, mtime_ns in listing:
            if not matches(name, src.include, src.exclude):
                continue
            try:
                rel = safe_relpath(name)
                if size < 0:
                    raise UnsafeNameError(f"unsafe remote name {name!r}: not a regular file name")
            except UnsafeNameError as e:
                ent = SyncEntry(
                    src.name,
                    name,
                    0,
                    0,
                    f"{src.display}#{name!r}",
                    state="rejected",
                    action="reject",
                    error=str(e),
                    first_seen=now,
                )
                p = prev.get(name)
                if p is not None and p[3] == "rejected":  # reported once; `status` keeps listing it
                    ent.state, ent.action = "skipped", "skip"
                out.append(ent)
                continue
            ent = SyncEntry(
                src.name, rel, size, mtime_ns, _key(src, rel, r), in_place=bool(getattr(r, "in_place", False))
            )
            ent.product_default, ent.stage_default = self.cfg.defaults_for(src, rel)
            p = prev.get(rel)
            if p is not None and p[6] and not ent.in_place:
                ent.key = p[6]  # a file keeps its ledger key when the source's URL changes (port, host name)
            same = p is not None and p[1] == size and p[2] == mtime_ns
            ent.first_seen = p[4] if same and p is not None else now
            in_archive = p is not None and p[3] in ("ingested", "duplicate", "partial") and p[5] in IN_ARCHIVE
            action = rerun(in_archive, p is not None and p[3] == "failed", same, self.retry_failed)
            if action == "unchanged":
                ent.action = ent.state = "unchanged"
            elif action == "skip":
                ent.action, ent.state = "skip", "skipped"
                ent.error = KNOWN_BAD
            elif same and p is not None and p[3] == "downloaded" and not ent.in_place and self._complete(ent):
                ent.action = "ingest"
            elif self.cfg.stable_seconds <= 0 or (
                same and ent.first_seen is not None and ent.first_seen <= stable_before
            ):
                ent.action = "download"
            else:
                ent.action = "wait"
            out.append(ent)
        return out

    def settle(self, entries: list[SyncEntry], listed_at: float) -> None:
        """Entries waiting for their size to settle: wait out `stable_seconds`, list again, and
        take those that did not change."""
        waiting = [e for e in entries if e.action == "wait"]
        if not waiting:
            return
        if self.dry_run or self.cfg.stable_seconds > MAX_STABLE_WAIT:
            for e in waiting:
                e.state = "unstable"
                e.error = f"seen for less than {self.cfg.stable_seconds:g} s with this size"
            return
        delay = self.cfg.stable_seconds - (time.monotonic() - listed_at)
        self.progress.message(f"waiting {max(delay, 0):.0f} s for {len(waiting)} new file(s) to stop changing")
        if delay > 0 and self.stop.wait(delay):
            raise _Stopped()
        by_source: dict[str, list[SyncEntry]] = {}
        for e in waiting:
            by_source.setdefault(e.source, []).append(e)
        for name, es in by_source.items():
            src = self.sources[name]
            try:
                now_listing = {n: (s, m) for n, s, m in self.retry("listing", src, lambda r: r.list())}
            except Exception as ex:
                for e in es:
                    e.state, e.error = "error", self.redact(f"listing again failed: {one_line(ex)}")
                continue
            for e in es:
                cur = now_listing.get(e.rel)
                if cur == (e.size, e.mtime_ns):
                    e.action = "download"
                else:
                    e.state = "unstable"
                    e.error = "still being written: size or mtime changed within stable_seconds"
                    if cur is not None:
                        e.size, e.mtime_ns = cur
                    e.first_seen = _utcnow()

    def _paths(self, e: SyncEntry) -> tuple[str, str]:
        root = os.path.realpath(os.path.join(self.archive.root, DOWNLOADS, e.source))
        local = os.path.realpath(os.path.join(root, *e.rel.split("/")))
        if not local.startswith(root + os.sep):  # safe_relpath makes this impossible; a symlink might not
            raise UnsafeNameError(f"unsafe remote name {e.rel!r}: its download would leave {root}")
        return local, f"{local}.{e.size}-{e.mtime_ns}.part"

    def _complete(self, e: SyncEntry) -> bool:
        try:
            local, _ = self._paths(e)
            st = os.stat(local)
        except (OSError, UnsafeNameError):
            return False
        return st.st_size == e.size and st.st_mtime_ns == e.mtime_ns

    def fetch(self, e: SyncEntry) -> SyncEntry:
        """Download (or, for a local directory, just check) and verify one file. Never raises
        for a file's trouble: the entry's state says what happened."""
        src = self.sources[e.source]
        with self.down_lock:
            gone = self.down.get(e.source, 0) >= MAX_FAILED_IN_A_ROW
        if gone:  # a source that went away: do not spend the whole retry policy on each of its files
            e.state = "error"
            e.error = f"not tried: the source failed {MAX_FAILED_IN_A_ROW} transfers in a row; retried next sync"
            return e
        if not self._acquire(e):
            e.state, e.error = "error", "interrupted"
            return e
        try:
            if e.in_place:
                e.local = self.remote(src).local_path(e.rel)
            else:
                e.local = self._download(src, e)
                if not e.local:
                    return e
            now: RemoteFile | None = self.retry("checking", src, lambda r: r.stat(e.rel))
            if now is None:
                raise PermanentError("the file disappeared from the source during the sync")
            if (now.size, now.mtime_ns) != (e.size, e.mtime_ns):
                self._discard(e)
                e.state = "unstable"
                e.error = (
                    f"still being written: changed during the download ({e.size:,} -> {now.size:,} bytes); "
                    "taken by a later sync"
                )
                e.size, e.mtime_ns, e.first_seen = now.size, now.mtime_ns, _utcnow()
                return e
            verify_stdf(
                e.local, self.cfg.max_ratio, self.cfg.max_stream_mb * 2**20, strict=self.cfg.on_error == "raise"
            )
            e.state = "downloaded"
        except _Stopped:
            e.state, e.error = "error", "interrupted"
        except VerifyError as ex:
            e.state, e.error = "failed", str(ex)
            self._discard(e)
        except (PermanentError, UnsafeNameError) as ex:
            e.state, e.error = "error", self.redact(str(ex))
        except Exception as ex:  # transient errors after the last attempt, local disk errors
            e.state, e.error = "error", self.redact(f"after {e.attempts} attempt(s): {one_line(ex)}")
            with self.down_lock:
                self.down[e.source] = self.down.get(e.source, 0) + 1
            return e
        with self.down_lock:
            self.down[e.source] = 0
        return e

    def _acquire(self, e: SyncEntry) -> bool:
        """Wait until this file fits in the pending bound (always true for the first one)."""
        files, nbytes = self.pending_limit()
        size = 0 if e.in_place else max(e.size, 0)
        with self.pending:
            while self.pending_files and (self.pending_files + 1 > files or self.pending_bytes + size > nbytes):
                if self.stop.is_set():
                    return False
                self.blocked.add(id(e))  # the main thread ingests what is ready instead of waiting for more
                self.pending.wait(0.2)
            self.blocked.discard(id(e))
            self.pending_files += 1
            self.pending_bytes += size
            self.holding.add(id(e))
        return True

    def _release(self, e: SyncEntry) -> None:
        with self.pending:
            if id(e) not in self.holding:
                return
            self.holding.discard(id(e))
            self.pending_files -= 1
            self.pending_bytes -= 0 if e.in_place else max(e.size, 0)
            self.pending.notify_all()

    def _discard(self, e: SyncEntry) -> None:
        if e.in_place or not e.local:
            return
        try:
            os.unlink(e.local)
        except OSError:
            pass

    def _download(self, src: SourceConfig, e: SyncEntry) -> str:
        local, part = self._paths(e)
        if self._complete(e):
            return local
        os.makedirs(os.path.dirname(local), exist_ok=True)
        other = re.compile(re.escape(os.path.basename(local)) + r"\.\d+-\d+\.part")
        for old in os.listdir(os.path.dirname(local)):  # partial downloads of other versions of this file
            if other.fullmatch(old) and os.path.join(os.path.dirname(local), old) != part:
                try:
                    os.unlink(os.path.join(os.path.dirname(local), old))
                except OSError:
                    pass

        def on_bytes(n: int) -> None:
            if self.stop.is_set():
                raise _Stopped()
            e.downloaded += n
            self.progress.download_bytes(n)

        def attempt(r: Any) -> None:
            offset = os.path.getsize(part) if os.path.exists(part) else 0
            if offset > e.size:
                offset = 0
            if offset:
                log.info("%s: resuming %s at byte %d", src.name, e.rel, offset)
            r.download(e.rel, part, offset, on_bytes)
            got = os.path.getsize(part)
            if got < e.size:  # the transfer ended early: resume, unless the file changed meanwhile
                now = r.stat(e.rel)
                if now is not None and (now.size, now.mtime_ns) == (e.size, e.mtime_ns):
                    raise ConnectionError(f"the transfer ended after {got:,} of {e.size:,} bytes")

        self.retry(f"downloading {e.rel}", src, attempt, e)
        got = os.path.getsize(part)
        if got != e.size:
            now = self.retry("checking", src, lambda r: r.stat(e.rel))
            if now is not None and (now.size, now.mtime_ns) != (e.size, e.mtime_ns):
                os.unlink(part)
                e.state = "unstable"
                e.error = f"still being written: {got:,} bytes downloaded, {e.size:,} listed, now {now.size:,}"
                e.size, e.mtime_ns, e.first_seen = now.size, now.mtime_ns, _utcnow()
                return ""
            os.unlink(part)
            raise PermanentError(f"downloaded {got:,} bytes but the server lists {e.size:,}")
        os.replace(part, local)
        os.utime(local, ns=(e.mtime_ns or time.time_ns(), e.mtime_ns or time.time_ns()))
        return local

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
            workers=self.cfg.workers,
            on_error=self.cfg.on_error,
            progress=self.progress,
            command=self.command,
            lock_held=True,
            pools=self.pools,
            retry_failed=self.retry_failed,
        )
        self.report.materialize.append(rep)
        by_key = {e.key: e for e in batch}
        for o in rep.outcomes:
            e = by_key.get(o.path)
            if e is None:
                continue
            e.state = {
                "ok": "ingested",
                "partial": "partial",
                "unchanged": "ingested",
                "duplicate": "duplicate",
                "skipped": "skipped",
            }.get(o.status, "failed")
            e.error = self.redact(o.error) if o.error else None
            if o.status == "duplicate":
                e.error = f"same content as {o.duplicate_of}"
        for e in batch:
            if e.state == "downloaded":  # not reached by the materialize (interrupted)
                continue
            if not e.in_place and not self.cfg.keep_downloads:
                self._discard(e)
            self.mark(e)
        if rep.interrupted:
            raise _Stopped()

    def transfer(self, todo: list[SyncEntry], ready: list[SyncEntry]) -> None:
        """Downloads in `download_workers` threads; each finished batch is materialized while the
        next downloads go on."""
        self.progress.download_start(len(todo), sum(e.size for e in todo if not e.in_place))
        nw = self.cfg.workers or os.cpu_count() or 1
        pool = ThreadPoolExecutor(max(1, self.cfg.download_workers), thread_name_prefix="stdf-duck-download")
        futures: dict[Future[SyncEntry], SyncEntry] = {pool.submit(self.fetch, e): e for e in todo}
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
                            self.mark(e)
                            self._release(e)
                        if e.state in ("failed", "error"):
                            log.error("%s: %s: %s", e.source, e.rel, self.redact(e.error or ""))
                    self.flush()
                if ready and (not futures or len(ready) >= 2 * nw or self.blocked):
                    batch, ready[:] = list(ready), []
                    self.ingest_batch(batch)
                    for e in batch:
                        self._release(e)
                    self.flush()
        except BaseException:
            self.stop.set()
            for e in ready:
                self.mark(e)
            raise
        finally:
            if futures:  # downloads still queued or running: stop them
                self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self.flush()

    def pending_limit(self) -> tuple[int, int]:
        """(files, bytes) that may be downloaded or downloading and not yet ingested, so the staging
        disk does not fill up when downloads are faster than decoding."""
        nw = self.cfg.workers or os.cpu_count() or 1
        dw = max(1, self.cfg.download_workers)
        if not self.ingest:
            return dw, 1 << 62
        return max(2 * nw + dw, MAX_PENDING_FILES), MAX_PENDING_BYTES

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

    # -- the run ---------------------------------------------------------------------------------

    def start_rows(self, names: list[str]) -> None:
        with self.archive.ledger.open() as con:
            con.execute("UPDATE syncs SET status = 'killed' WHERE status = 'running'")  # we hold the lock
            sid = int(con.execute("SELECT coalesce(max(sync_id), 0) + 1 FROM syncs").fetchone()[0])
            self.report.sync_id = sid
            now = _utcnow()
            for n in names:
                con.execute(
                    "INSERT INTO syncs (sync_id, source, url, started_at, status, pid, host) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                    [sid, n, self.sources[n].display, now, os.getpid(), socket.gethostname()],
                )
            self.archive.publish(con)

    def finish_rows(self, names: list[str], t0: float) -> None:
        rep = self.report
        with self.archive.ledger.open() as con:
            for n in names:
                err = rep.source_errors.get(n)
                failed = sum(rep.count(s, n) for s in ("failed", "error"))
                status = (
                    "interrupted"
                    if rep.interrupted
                    else "error"
                    if err
                    else "failures"
                    if failed or rep.count("rejected", n) or rep.count("partial", n)
                    else "complete"
                )
                listed = sum(1 for e in rep.entries if e.source == n)
                con.execute(
                    "UPDATE syncs SET finished_at = ?, status = ?, error = ?, n_listed = ?, n_unchanged = ?, n_unstable = ?, "
                    "n_downloaded = ?, n_ingested = ?, n_duplicate = ?, n_failed = ?, n_rejected = ?, bytes_downloaded = ?, "
                    "seconds = ? WHERE sync_id = ? AND source = ?",
                    [
                        _utcnow(),
                        status,
                        err,
                        listed,
                        rep.count("unchanged", n),
                        rep.count("unstable", n),
                        sum(1 for e in rep.entries if e.source == n and e.downloaded),
                        rep.count("ingested", n),
                        rep.count("duplicate", n),
                        failed,
                        rep.count("rejected", n),
                        sum(e.downloaded for e in rep.entries if e.source == n),
                        time.perf_counter() - t0,
                        rep.sync_id,
                        n,
                    ],
                )
            self.archive.publish(con)

    def run(self, names: list[str]) -> None:
        t0 = time.perf_counter()
        rep = self.report
        if not self.dry_run:
            self.start_rows(names)
        entries: list[SyncEntry] = []
        listed_at = time.monotonic()
        try:
            for n in names:
                src = self.sources[n]
                self.progress.message(f"listing {src.name} ({src.display})")
                try:
                    es = self.list_source(src)
                except _Stopped:
                    raise
                except Exception as ex:
                    msg = self.redact(one_line(ex))
                    rep.source_errors[n] = msg
                    log.error("%s: cannot list %s: %s", n, src.display, msg)
                    continue
                entries.extend(es)
                n_todo = sum(1 for e in es if e.action in ("download", "ingest", "wait"))
                self.progress.listed(n, len(es), n_todo)
                log.info("%s: %d file(s) listed, %d to do", n, len(es), n_todo)
            rep.entries = entries
            for e in entries:
                if e.action in ("reject",):
                    self.mark(e)
            self.settle(entries, listed_at)
            for e in entries:
                if e.state == "unstable":
                    self.mark(e)
            self.flush()
            if self.dry_run:
                return
            todo = [e for e in entries if e.action == "download" and not e.state]
            ready = [e for e in entries if e.action == "ingest" and not e.state]
            for e in ready:
                e.local, _ = self._paths(e)
            if not self.ingest:  # already downloaded by an earlier --no-ingest run: they stay so
                for e in ready:
                    e.state = "downloaded"
                ready = []
            self.transfer(todo, ready)
        except (_Stopped, KeyboardInterrupt):
            rep.interrupted = True
            self.stop.set()
        finally:
            self.close_all()
            self.pools.close()
            self.prune_downloads()
            rep.seconds = time.perf_counter() - t0
            if not self.dry_run:
                try:
                    self.flush()
                finally:
                    self.finish_rows(names, t0)


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


# ---- status ------------------------------------------------------------------------------------


def status(archive: str, failures: int = 20) -> dict[str, Any]:
    """The ledger in short: files by state (ingest and sync), the latest failures (and partial
    files) with their errors, the last sync of each source, the last materialize runs. Reads the
    copy of the ledger in archive.duckdb (stdf_duck.catalog.reader): works while a materialize or
    sync runs."""
    a = Archive.locate(archive)
    out: dict[str, Any] = {"archive": a.root}
    with contextlib.closing(a.reader()) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}

        def rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
            return dicts(con, sql, params)

        out["ingest"] = {
            r["status"]: r["n"] for r in rows("SELECT status, count(*) AS n FROM ingest GROUP BY ALL ORDER BY 1")
        }
        out["ingest_bytes"] = rows("SELECT coalesce(sum(size), 0) AS n FROM ingest WHERE status IN ('ok', 'partial')")[
            0
        ]["n"]
        damage = "damage" if "damage" in {c[0] for c in con.execute("DESCRIBE ingest").fetchall()} else "NULL"
        out["failures"] = rows(
            f"SELECT path AS file, status AS state, coalesce(error, {damage}) AS error, finished_at AS at FROM ingest "
            "WHERE status IN ('failed', 'partial') ORDER BY finished_at DESC LIMIT ?",
            [failures],
        )
        out["runs"] = rows(
            "SELECT run_id, started_at, status, n_ok, n_unchanged, n_duplicate, n_failed, seconds, command "
            "FROM runs ORDER BY run_id DESC LIMIT 5"
        )
        if "sync_files" in tables:
            out["sync"] = rows(
                "SELECT source, state, count(*) AS n, sum(size) AS bytes FROM sync_files GROUP BY ALL ORDER BY 1, 2"
            )
            out["sync_failures"] = rows(
                "SELECT source, remote AS file, key, state, error, updated_at AS at FROM sync_files "
                "WHERE state IN ('failed', 'partial', 'error', 'rejected', 'unstable') ORDER BY updated_at DESC LIMIT ?",
                [failures],
            )
            out["last_sync"] = rows(
                "SELECT * EXCLUDE (rn) FROM (SELECT source, url, sync_id, started_at, finished_at, status, error, n_listed, "
                "n_unchanged, n_unstable, n_downloaded, n_ingested, n_duplicate, n_failed, n_rejected, bytes_downloaded, "
                "seconds, row_number() OVER (PARTITION BY source ORDER BY sync_id DESC) AS rn FROM syncs) WHERE rn = 1 ORDER BY source"
            )
        else:
            out["sync"], out["sync_failures"], out["last_sync"] = [], [], []
    return out
