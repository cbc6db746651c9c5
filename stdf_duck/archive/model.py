"""What a materialize is asked (`MaterializeOptions`) and what it tells (`MaterializeReport`,
the `Progress` callbacks)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from .layout import ARCHIVE_TABLES, Partition

OnError = Literal["raise", "warn"]


@dataclass(frozen=True)
class MaterializeOptions:
    """How files are written, the same through `materialize`, `materialize_items`, `sync` (from
    its configuration) and the CLI.

    product / stage: partition values for every file (default: MIR PART_TYP, and TEST_COD else
    FLOW_ID). workers: files written in parallel (default: the number of CPUs, at most the number
    of files). threads: cores per worker (default: CPUs / workers; 2 or more: a file's results are
    encoded in a thread beside its decoding). on_error: 'raise' (a
    damaged file fails) or 'warn' (keep the rows before the damage: the file is 'partial').
    retry_failed: read again the files that failed before with the same size and mtime (else
    'skipped')."""

    product: str | None = None
    stage: str | None = None
    workers: int | None = None
    threads: int | None = None
    on_error: str = "raise"
    retry_failed: bool = False

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "warn"):
            raise ValueError("on_error must be 'raise' or 'warn'")

    def n_workers(self, n_jobs: int) -> int:
        """Worker processes for `n_jobs` files."""
        return max(1, min(self.workers or os.cpu_count() or 1, n_jobs or 1))

    def threads_per_worker(self, n_workers: int, n_jobs: int) -> int:
        ncpu = os.cpu_count() or 1
        return self.threads or (ncpu if n_workers == 1 or n_jobs == 1 else max(1, ncpu // n_workers))


#: ok: written; partial: written up to the damage its decode ended on; unchanged: in the archive
#: already; duplicate: its content is in the archive under another path; skipped: failed before
#: with the same size and mtime (not read again); failed: nothing written, see `error`
Status = Literal["ok", "partial", "unchanged", "duplicate", "skipped", "failed"]
#: outcomes of the files read in a run
_READ = ("ok", "partial", "duplicate", "failed")


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
    partitions: list[Partition] = field(default_factory=list)
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
