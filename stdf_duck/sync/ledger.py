"""The sync's ledger: tables sync_files (one row per listed file) and syncs (one per source and
run), in the archive's ledger (stdf_duck/sql/archive/sync.sql); `status` reads both ledgers."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import socket
import threading
import time
from typing import Any, NamedTuple

from ..archive import Archive
from ..archive._sql import column, dicts, named, scalar
from ..archive.ledger import utcnow
from ..config import Config
from .model import SyncEntry, SyncReport

#: the columns of sync_files, as written
_SYNC_FILES = (
    "source",
    "remote",
    "key",
    "size",
    "mtime_ns",
    "mtime",
    "state",
    "first_seen",
    "last_seen",
    "attempts",
    "downloaded",
    "error",
    "sync_id",
    "updated_at",
)


def _ns_time(ns: int) -> _dt.datetime | None:
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).replace(tzinfo=None) if ns else None


class Known(NamedTuple):
    """What the sync ledger knows of one remote file (and the ingest status of its key)."""

    remote: str
    size: int
    mtime_ns: int
    state: str
    first_seen: _dt.datetime | None
    status: str | None  # ingest.status of its key
    key: str | None


class SyncLedger:
    """The sync's rows in the ledger: entries marked by any thread are written by `flush` (the
    latest state of each file), the run's rows of table syncs by `start` and `finish`."""

    def __init__(self, archive: Archive, cfg: Config, report: SyncReport, dry_run: bool) -> None:
        self.archive, self.cfg, self.report, self.dry_run = archive, cfg, report, dry_run
        self.dirty: list[SyncEntry] = []
        self.lock = threading.Lock()

    def mark(self, e: SyncEntry) -> None:
        with self.lock:
            self.dirty.append(e)

    def flush(self) -> None:
        if self.dry_run:
            return
        with self.lock:
            batch, self.dirty = self.dirty, []
        if not batch:
            return
        now = utcnow()
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
                f"INSERT INTO sync_files ({', '.join(_SYNC_FILES)}) VALUES ({', '.join('?' for _ in _SYNC_FILES)})",
                [[self._row(e, now)[c] for c in _SYNC_FILES] for e in latest.values()],
            )
            con.execute("COMMIT")
            self.archive.publish(con, force=False)

    def _row(self, e: SyncEntry, now: _dt.datetime) -> dict[str, Any]:
        return {
            "source": e.source,
            "remote": e.rel,
            "key": e.key,
            "size": max(e.size, 0),
            "mtime_ns": e.mtime_ns,
            "mtime": _ns_time(e.mtime_ns),
            "state": e.state,
            "first_seen": e.first_seen or now,
            "last_seen": now,
            "attempts": e.attempts,
            "downloaded": e.downloaded,
            "error": self.cfg.redact(e.error) if e.error else None,
            "sync_id": self.report.sync_id,
            "updated_at": now,
        }

    def known(self, src: str) -> dict[str, Known]:
        """What the ledger knows of one source's files, by remote name: from the ledger (the lock
        is ours), or in a dry run (no lock) from the catalog's copy."""
        if not os.path.isfile(self.archive.db_path):
            return {}
        sql = (
            "SELECT s.remote, s.size, s.mtime_ns, s.state, s.first_seen, i.status, s.key FROM sync_files s "
            "LEFT JOIN ingest i ON i.path = s.key WHERE s.source = ?"
        )
        con_cm = contextlib.closing(self.archive.reader()) if self.dry_run else self.archive.ledger.open()
        with con_cm as con:
            if not column(con, "SELECT 1 FROM information_schema.tables WHERE table_name = 'sync_files'"):
                return {}
            rows = named(con, Known, sql, [src])
        return {r.remote: r for r in rows}

    def start(self, names: list[str]) -> None:
        """One row per source in syncs ('running'); sets report.sync_id."""
        with self.archive.ledger.open() as con:
            con.execute("UPDATE syncs SET status = 'killed' WHERE status = 'running'")  # we hold the lock
            sid = int(scalar(con, "SELECT coalesce(max(sync_id), 0) + 1 FROM syncs"))
            self.report.sync_id = sid
            now = utcnow()
            for n in names:
                con.execute(
                    "INSERT INTO syncs (sync_id, source, url, started_at, status, pid, host) "
                    "VALUES (?, ?, ?, ?, 'running', ?, ?)",
                    [sid, n, self.cfg.source(n).display, now, os.getpid(), socket.gethostname()],
                )
            self.archive.publish(con)

    def finish(self, names: list[str], t0: float) -> None:
        """Each source's row in syncs: its final status and counts."""
        rep = self.report
        with self.archive.ledger.open() as con:
            for n in names:
                err = rep.source_errors.get(n)
                failed = sum(rep.count(s, n) for s in ("failed", "error"))
                if rep.interrupted:
                    status = "interrupted"
                elif err:
                    status = "error"
                elif failed or rep.count("rejected", n) or rep.count("partial", n):
                    status = "failures"
                else:
                    status = "complete"
                mine = [e for e in rep.entries if e.source == n]
                con.execute(
                    "UPDATE syncs SET finished_at = ?, status = ?, error = ?, n_listed = ?, n_unchanged = ?, "
                    "n_unstable = ?, n_downloaded = ?, n_ingested = ?, n_duplicate = ?, n_failed = ?, "
                    "n_rejected = ?, bytes_downloaded = ?, seconds = ? WHERE sync_id = ? AND source = ?",
                    [
                        utcnow(),
                        status,
                        err,
                        len(mine),
                        rep.count("unchanged", n),
                        rep.count("unstable", n),
                        sum(1 for e in mine if e.downloaded),
                        rep.count("ingested", n),
                        rep.count("duplicate", n),
                        failed,
                        rep.count("rejected", n),
                        sum(e.downloaded for e in mine),
                        time.perf_counter() - t0,
                        rep.sync_id,
                        n,
                    ],
                )
            self.archive.publish(con)


# ---- status ------------------------------------------------------------------------------------


def status(archive: str, failures: int = 20) -> dict[str, Any]:
    """The ledger in short: files by state (ingest and sync), the latest failures (and partial
    files) with their errors, the last sync of each source, the last materialize runs. Reads the
    copy of the ledger in archive.duckdb (stdf_duck.archive.catalog.reader): works while a materialize or
    sync runs."""
    a = Archive.locate(archive)
    out: dict[str, Any] = {"archive": a.root}
    with contextlib.closing(a.reader()) as con:
        tables = set(column(con, "SELECT table_name FROM information_schema.tables"))

        def rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
            return dicts(con, sql, params)

        out["ingest"] = {
            r["status"]: r["n"] for r in rows("SELECT status, count(*) AS n FROM ingest GROUP BY ALL ORDER BY 1")
        }
        out["ingest_bytes"] = rows("SELECT coalesce(sum(size), 0) AS n FROM ingest WHERE status IN ('ok', 'partial')")[
            0
        ]["n"]
        damage = "damage" if "damage" in {c["column_name"] for c in dicts(con, "DESCRIBE ingest")} else "NULL"
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
