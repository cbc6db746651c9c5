"""The plan of a sync: list each source, filter, and classify every file (`SyncEntry.action`):
unchanged, download, ingest (downloaded by an earlier --no-ingest run), wait (its size may
still change), skip (failed before, unchanged since), reject (an unsafe name)."""

from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Any

from .._errors import UnsafeNameError, one_line
from ..archive.ledger import IN_ARCHIVE, KNOWN_BAD, rerun, utcnow
from ..config import Config, SourceConfig
from .ledger import Known, SyncLedger
from .model import Stopped, SyncEntry, SyncProgress
from .remote import matches, safe_relpath
from .transfer import Downloads, Remotes

#: a file never waits longer than this inside one run for its size to settle (later runs see it again)
MAX_STABLE_WAIT = 600.0


def _key(src: SourceConfig, rel: str, remote: Any) -> str:
    if getattr(remote, "in_place", False):
        return str(remote.local_path(rel))
    return src.display.rstrip("/") + "/" + rel


class Planner:
    """Lists and classifies the files of the sources (`list_source`), then waits for the ones still
    changing (`settle`)."""

    def __init__(
        self,
        cfg: Config,
        remotes: Remotes,
        ledger: SyncLedger,
        downloads: Downloads,
        progress: SyncProgress,
        stop: threading.Event,
        dry_run: bool,
        retry_failed: bool,
    ) -> None:
        self.cfg, self.remotes, self.ledger, self.downloads = cfg, remotes, ledger, downloads
        self.progress, self.stop, self.dry_run, self.retry_failed = progress, stop, dry_run, retry_failed

    def list_source(self, src: SourceConfig) -> list[SyncEntry]:
        """List, filter and classify the files of one source (SyncEntry.action)."""
        listing = self.remotes.retry("listing", src, lambda r: r.list())
        r = self.remotes.remote(src)
        prev = self.ledger.known(src.name)
        now = utcnow()
        out: list[SyncEntry] = []
        for name, size, mtime_ns in listing:
            if not matches(name, src.include, src.exclude):
                continue
            try:
                rel = safe_relpath(name)
                if size < 0:
                    raise UnsafeNameError(f"unsafe remote name {name!r}: not a regular file name")
            except UnsafeNameError as e:
                out.append(_rejected(src, name, str(e), now, prev.get(name)))
                continue
            in_place = bool(getattr(r, "in_place", False))
            ent = SyncEntry(src.name, rel, size, mtime_ns, _key(src, rel, r), in_place=in_place)
            ent.product_default, ent.stage_default = self.cfg.defaults_for(src, rel)
            self.classify(ent, prev.get(rel), now)
            out.append(ent)
        return out

    def classify(self, ent: SyncEntry, p: Known | None, now: _dt.datetime) -> None:
        """ent.action (and for a settled file ent.state) from what the ledger knows of it (`p`)."""
        if p is not None and p.key and not ent.in_place:
            ent.key = p.key  # a file keeps its ledger key when the source's URL changes (port, host name)
        same = p is not None and p.size == ent.size and p.mtime_ns == ent.mtime_ns
        ent.first_seen = p.first_seen if same and p is not None else now
        in_archive = p is not None and p.state in ("ingested", "duplicate", "partial") and p.status in IN_ARCHIVE
        action = rerun(in_archive, p is not None and p.state == "failed", same, self.retry_failed)
        stable_before = now - _dt.timedelta(seconds=self.cfg.stable_seconds)
        if action == "unchanged":
            ent.action = ent.state = "unchanged"
        elif action == "skip":
            ent.action, ent.state = "skip", "skipped"
            ent.error = KNOWN_BAD
        elif same and p is not None and p.state == "downloaded" and not ent.in_place and self.downloads.complete(ent):
            ent.action = "ingest"
        elif self.cfg.stable_seconds <= 0 or (same and ent.first_seen is not None and ent.first_seen <= stable_before):
            ent.action = "download"
        else:
            ent.action = "wait"

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
            raise Stopped()
        by_source: dict[str, list[SyncEntry]] = {}
        for e in waiting:
            by_source.setdefault(e.source, []).append(e)
        for name, es in by_source.items():
            src = self.cfg.source(name)
            try:
                now_listing = {n: (s, m) for n, s, m in self.remotes.retry("listing", src, lambda r: r.list())}
            except Exception as ex:
                for e in es:
                    e.state, e.error = "error", self.cfg.redact(f"listing again failed: {one_line(ex)}")
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
                    e.first_seen = utcnow()


def _rejected(src: SourceConfig, name: str, error: str, now: _dt.datetime, p: Known | None) -> SyncEntry:
    """The entry of a file whose name is unsafe: rejected, reported once (then 'skipped')."""
    ent = SyncEntry(
        src.name,
        name,
        0,
        0,
        f"{src.display}#{name!r}",
        state="rejected",
        action="reject",
        error=error,
        first_seen=now,
    )
    if p is not None and p.state == "rejected":  # reported once; `status` keeps listing it
        ent.state, ent.action = "skipped", "skip"
    return ent
