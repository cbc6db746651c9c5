"""Transfers: one connection per thread and source with the retry policy (`Remotes`), and the
download and check of each file (`Downloads`), bounded so the staging disk does not fill up."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from .._errors import PermanentError, UnsafeNameError, VerifyError, one_line
from ..archive import Archive
from ..archive.ledger import utcnow
from ..config import Config, SourceConfig
from .model import DOWNLOADS, Stopped, SyncEntry, SyncProgress
from .remote import TRANSIENT, RemoteFile, not_transient, open_remote
from .verify import verify_stdf

log = logging.getLogger("stdf_duck.sync")

#: after this many transfers of one source failed in a row (each after every retry), its other files
#: are left for the next run instead of each going through the retry policy
MAX_FAILED_IN_A_ROW = 3
#: downloaded files waiting for their ingestion, at most (a file larger than the byte bound still goes, alone)
MAX_PENDING_FILES = 64
MAX_PENDING_BYTES = 4 << 30


class Remotes:
    """This run's connections (one per thread and source) and the retry policy."""

    def __init__(self, cfg: Config, stop: threading.Event) -> None:
        self.cfg, self.stop = cfg, stop
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()

    def remote(self, src: SourceConfig) -> Any:
        """This thread's connection to `src`."""
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        r = conns.get(src.name)
        if r is None:
            r = conns[src.name] = open_remote(src, self.cfg.timeout_seconds)
            with self.lock:
                self.opened.append(r)
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
            except (PermanentError, Stopped, VerifyError, UnsafeNameError):
                raise
            except TRANSIENT as e:
                _close(r)
                permanent = not_transient(e, src)
                if permanent is not None:
                    raise permanent from None
                if self.stop.is_set():
                    raise Stopped() from None
                if attempt >= self.cfg.attempts:
                    raise
                msg = self.cfg.redact(one_line(e))
                log.warning(
                    "%s: %s failed (attempt %d of %d): %s; retrying in %.1f s",
                    src.name,
                    what,
                    attempt,
                    self.cfg.attempts,
                    msg,
                    delay,
                )
                if self.stop.wait(delay):
                    raise Stopped() from None
                delay = min(max(delay * 2, 0.1), self.cfg.max_backoff_seconds)

    def close_all(self) -> None:
        with self.lock:
            for r in self.opened:
                _close(r)
            self.opened.clear()


def _close(r: Any) -> None:
    try:
        r.close()
    except Exception:
        pass


class Downloads:
    """Download (or, for a local directory, just check) and verify files, at most
    `pending_limit()` of them downloaded and not yet ingested."""

    def __init__(
        self,
        cfg: Config,
        archive: Archive,
        remotes: Remotes,
        progress: SyncProgress,
        stop: threading.Event,
        ingest: bool,
    ) -> None:
        self.cfg, self.archive, self.remotes, self.progress, self.stop = cfg, archive, remotes, progress, stop
        self.ingest = ingest
        self.down: dict[str, int] = {}  # source -> transfers failed in a row (after all their attempts)
        self.down_lock = threading.Lock()
        # files downloaded but not yet ingested are bounded (the staging disk does not fill up when
        # downloads are faster than decoding): a download takes a slot, its ingestion gives it back
        self.pending = threading.Condition()
        self.pending_files = 0
        self.pending_bytes = 0
        self.holding: set[int] = set()
        self.blocked: set[int] = set()

    def paths(self, e: SyncEntry) -> tuple[str, str]:
        root = os.path.realpath(os.path.join(self.archive.root, DOWNLOADS, e.source))
        local = os.path.realpath(os.path.join(root, *e.rel.split("/")))
        if not local.startswith(root + os.sep):  # safe_relpath makes this impossible; a symlink might not
            raise UnsafeNameError(f"unsafe remote name {e.rel!r}: its download would leave {root}")
        return local, f"{local}.{e.size}-{e.mtime_ns}.part"

    def complete(self, e: SyncEntry) -> bool:
        try:
            local, _ = self.paths(e)
            st = os.stat(local)
        except (OSError, UnsafeNameError):
            return False
        return st.st_size == e.size and st.st_mtime_ns == e.mtime_ns

    def fetch(self, e: SyncEntry) -> SyncEntry:
        """Download (or, for a local directory, just check) and verify one file. Never raises
        for a file's trouble: the entry's state says what happened."""
        src = self.cfg.source(e.source)
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
                e.local = self.remotes.remote(src).local_path(e.rel)
            else:
                e.local = self._download(src, e)
                if not e.local:
                    return e
            now: RemoteFile | None = self.remotes.retry("checking", src, lambda r: r.stat(e.rel))
            if now is None:
                raise PermanentError("the file disappeared from the source during the sync")
            if (now.size, now.mtime_ns) != (e.size, e.mtime_ns):
                self.discard(e)
                e.state = "unstable"
                e.error = (
                    f"still being written: changed during the download ({e.size:,} -> {now.size:,} bytes); "
                    "taken by a later sync"
                )
                e.size, e.mtime_ns, e.first_seen = now.size, now.mtime_ns, utcnow()
                return e
            verify_stdf(
                e.local, self.cfg.max_ratio, self.cfg.max_stream_mb * 2**20, strict=self.cfg.on_error == "raise"
            )
            e.state = "downloaded"
        except Stopped:
            e.state, e.error = "error", "interrupted"
        except VerifyError as ex:
            e.state, e.error = "failed", str(ex)
            self.discard(e)
        except (PermanentError, UnsafeNameError) as ex:
            e.state, e.error = "error", self.cfg.redact(str(ex))
        except Exception as ex:  # transient errors after the last attempt, local disk errors
            e.state, e.error = "error", self.cfg.redact(f"after {e.attempts} attempt(s): {one_line(ex)}")
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

    def release(self, e: SyncEntry) -> None:
        with self.pending:
            if id(e) not in self.holding:
                return
            self.holding.discard(id(e))
            self.pending_files -= 1
            self.pending_bytes -= 0 if e.in_place else max(e.size, 0)
            self.pending.notify_all()

    def discard(self, e: SyncEntry) -> None:
        if e.in_place or not e.local:
            return
        try:
            os.unlink(e.local)
        except OSError:
            pass

    def _download(self, src: SourceConfig, e: SyncEntry) -> str:
        local, part = self.paths(e)
        if self.complete(e):
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
                raise Stopped()
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

        self.remotes.retry(f"downloading {e.rel}", src, attempt, e)
        got = os.path.getsize(part)
        if got != e.size:
            now = self.remotes.retry("checking", src, lambda r: r.stat(e.rel))
            if now is not None and (now.size, now.mtime_ns) != (e.size, e.mtime_ns):
                os.unlink(part)
                e.state = "unstable"
                e.error = f"still being written: {got:,} bytes downloaded, {e.size:,} listed, now {now.size:,}"
                e.size, e.mtime_ns, e.first_seen = now.size, now.mtime_ns, utcnow()
                return ""
            os.unlink(part)
            raise PermanentError(f"downloaded {got:,} bytes but the server lists {e.size:,}")
        os.replace(part, local)
        os.utime(local, ns=(e.mtime_ns or time.time_ns(), e.mtime_ns or time.time_ns()))
        return local

    def pending_limit(self) -> tuple[int, int]:
        """(files, bytes) that may be downloaded or downloading and not yet ingested, so the staging
        disk does not fill up when downloads are faster than decoding."""
        nw = self.cfg.workers or os.cpu_count() or 1
        dw = max(1, self.cfg.download_workers)
        if not self.ingest:
            return dw, 1 << 62
        return max(2 * nw + dw, MAX_PENDING_FILES), MAX_PENDING_BYTES
