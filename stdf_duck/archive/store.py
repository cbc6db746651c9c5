"""`Archive`: an archive directory, its paths, its writers' lock and its publication."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._errors import ArchiveBusyError, ArchiveError
from . import catalog
from ._sql import render
from .catalog import DB_NAME
from .files import FileLock
from .layout import LOCK_NAME, STAGING
from .ledger import Ledger, ledger_sql


class Archive:
    """An archive directory (created on first use by `materialize`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.ledger = Ledger(self.root)
        self._published = 0.0  # time.monotonic() of the last catalog written

    @classmethod
    def locate(cls, path: str | os.PathLike[str]) -> Archive:
        """The archive at `path` (its directory or its archive.duckdb); ArchiveError if none."""
        p = os.path.abspath(os.fspath(path))
        if os.path.isfile(p) and os.path.basename(p) == DB_NAME:
            p = os.path.dirname(p)
        if not os.path.isfile(os.path.join(p, DB_NAME)):
            if not os.path.exists(p):
                raise ArchiveError(f"no such archive: {path}")
            raise ArchiveError(f"not an archive (no {DB_NAME}): {path}")
        return cls(p)

    @property
    def db_path(self) -> str:
        return os.path.join(self.root, DB_NAME)

    @property
    def staging(self) -> str:
        return os.path.join(self.root, STAGING)

    def abs(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def glob(self, table: str) -> str:
        """The Parquet files of one table (partition depth fixed: staging files never match)."""
        return catalog.table_glob(self.root, table)

    def has_files(self, table: str) -> bool:
        return catalog.has_files(self.root, table)

    @contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Exclusive writer lock; ArchiveBusyError when another process holds it (after waiting
        up to `wait` seconds for it)."""
        os.makedirs(self.root, exist_ok=True)
        lk = FileLock(os.path.join(self.root, LOCK_NAME))
        deadline = time.monotonic() + wait
        while not lk.acquire():
            if time.monotonic() < deadline:
                time.sleep(min(0.5, max(0.01, deadline - time.monotonic())))
                continue
            who = lk.holder()
            raise ArchiveBusyError(
                f"archive {self.root} is being written by another stdf-duck materialize or sync"
                + (f" ({who})" if who else "")
                + ("; it did not finish within the wait" if wait else "; wait for it to finish and run again")
            )
        try:
            yield
        finally:
            lk.release()

    def init(self) -> None:
        """Create the archive (its ledger and catalog), or move the ledger of an older
        archive out of its archive.duckdb. For a writer that holds `lock()`."""
        os.makedirs(self.root, exist_ok=True)
        created = not os.path.isfile(self.ledger.path)
        if created:
            self.ledger.create(self.db_path)
        with self.ledger.open() as con:
            con.execute(ledger_sql())
            con.execute(render("sync"))
            if created or not os.path.isfile(self.db_path):
                self.publish(con)

    def publish(self, con: Any, force: bool = True) -> None:
        """Show readers the archive as the writer's ledger connection `con` has it: a new catalog
        (not force: only when the last one is `catalog.PUBLISH_EVERY` seconds old)."""
        if force or time.monotonic() - self._published >= catalog.PUBLISH_EVERY:
            catalog.publish(self.root, con)
            self._published = time.monotonic()

    def reader(self) -> Any:
        """An in-memory DuckDB connection with the archive's views and ledger (it holds nothing open)."""
        return catalog.reader(self.root)

    def clean_staging(self) -> None:
        if os.path.isdir(self.staging):
            shutil.rmtree(self.staging, ignore_errors=True)
        os.makedirs(self.staging, exist_ok=True)
