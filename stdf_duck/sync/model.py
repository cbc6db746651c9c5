"""What a sync tells: one `SyncEntry` per listed file, the `SyncReport`, the `SyncProgress` callbacks."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from ..archive import MaterializeReport, Progress

DOWNLOADS = ".downloads"


class Stopped(Exception):
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
