"""Progress on stderr: bars on a terminal, else one line per failure (materialize and sync)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from ..sync import SyncProgress
from ._common import err
from .render import mb


class RichProgress:
    """files, MB, rows, MB/s on stderr (only on a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]materialize"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            TextColumn("{task.fields[mb]}"),
            TextColumn("{task.fields[rows]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task: Any = None
        self.n_files = self.done_files = self.n_bytes = self.done_bytes = self.rows = 0
        self.t0 = time.perf_counter()

    def _fields(self) -> dict[str, str]:
        dt = max(time.perf_counter() - self.t0, 1e-9)
        return {
            "files": f"{self.done_files}/{self.n_files} files",
            "mb": f"{mb(self.done_bytes)}/{mb(self.n_bytes)} MB",
            "rows": f"{self.rows:,} rows",
            "rate": f"{self.done_bytes / 1e6 / dt:,.1f} MB/s",
        }

    def start(self, n_files: int, n_bytes: int, n_unchanged: int) -> None:
        self.n_files, self.n_bytes = n_files, n_bytes
        self.t0 = time.perf_counter()
        self.bar.start()
        f = self._fields()
        self.task = self.bar.add_task(
            "materialize", total=max(n_bytes, 1), files=f["files"], mb=f["mb"], rows=f["rows"], rate=f["rate"]
        )

    def file_done(self, o: Any) -> None:
        self.done_files += 1
        self.done_bytes += o.size
        self.rows += o.n_rows
        if o.status in ("failed", "partial"):
            self.console.print(f"[red]{o.status}[/red] {o.path}: {o.error}", highlight=False, markup=True)
        f = self._fields()
        self.bar.update(
            self.task, completed=self.done_bytes, files=f["files"], mb=f["mb"], rows=f["rows"], rate=f["rate"]
        )

    def message(self, text: str) -> None:
        self.console.print(text)

    def stop(self) -> None:
        self.bar.stop()


class QuietProgress:
    """No bar: a failed file is still reported (one line on stderr)."""

    def start(self, n_files: int, n_bytes: int, n_unchanged: int) -> None:
        pass

    def file_done(self, o: Any) -> None:
        if o.status == "failed":
            err(f"{o.path}: {o.error}")
        elif o.status == "partial":
            err(f"{o.path}: partial (its rows before the damage are written): {o.error}")

    def message(self, text: str) -> None:
        pass

    def stop(self) -> None:
        pass


class SyncBars(SyncProgress):
    """Download and ingest bars on stderr (a terminal), one line per failure."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True)
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<9}"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.dl: Any = None
        self.ing: Any = None
        self.n_dl = self.done_dl = self.n_ing = self.done_ing = self.ing_bytes = 0
        self.bar.start()

    def listed(self, source: str, n_files: int, n_todo: int) -> None:
        self.console.print(f"{source}: {n_files:,} file(s) listed, {n_todo:,} new or changed")

    def download_start(self, n_files: int, n_bytes: int) -> None:
        self.n_dl = n_files
        self.dl = self.bar.add_task("download", total=max(n_bytes, 1), files=f"0/{n_files} files")

    def download_bytes(self, n: int) -> None:
        if self.dl is not None:
            self.bar.advance(self.dl, n)

    def download_done(self, e: Any) -> None:
        self.done_dl += 1
        if self.dl is not None:  # a failed download is reported by the sync's log line
            self.bar.update(self.dl, files=f"{self.done_dl}/{self.n_dl} files")

    def start(self, n_files: int, n_bytes: int, n_unchanged: int) -> None:
        self.n_ing += n_files
        self.ing_bytes += n_bytes
        if self.ing is None:
            self.ing = self.bar.add_task("ingest", total=max(self.ing_bytes, 1), files=f"0/{self.n_ing} files")
        else:
            self.bar.update(self.ing, total=max(self.ing_bytes, 1))

    def file_done(self, o: Any) -> None:
        self.done_ing += 1
        if self.ing is not None:
            self.bar.update(self.ing, advance=o.size, files=f"{self.done_ing}/{self.n_ing} files")
        if o.status in ("failed", "partial"):
            self.console.print(f"[red]{o.status}[/red] {o.path}: {o.error}", highlight=False)

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.bar.stop()


class SyncLog(SyncProgress):
    """No bars (not a terminal, or --quiet): failures as log lines."""

    def file_done(self, o: Any) -> None:
        if o.status in ("failed", "partial"):
            logging.getLogger("stdf_duck.sync").error(
                "%s: %s%s", o.path, "partial: " if o.status == "partial" else "", o.error
            )

    def message(self, text: str) -> None:
        logging.getLogger("stdf_duck.sync").info("%s", text)

    def close(self) -> None:
        pass


class Redacting(logging.Filter):
    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.cfg = cfg

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.cfg.redact(record.getMessage())
        record.args = None
        return True


def setup_logging(cfg: Any, verbose: int, quiet: bool) -> logging.Handler:
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter("%(asctime)s stdf-duck %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    h.addFilter(Redacting(cfg))
    lg = logging.getLogger("stdf_duck")
    lg.addHandler(h)
    lg.setLevel(
        logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING if not quiet else logging.ERROR
    )
    return h
