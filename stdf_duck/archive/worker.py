"""One source file -> temporary Parquet files, one per archive table and partition.

Runs in the `stdf-duck materialize` process or in its worker processes. It never touches the
visible archive: the parent renames the temporary files into place and records them in the
ledger (`stdf_duck.archive.commit`), so a kill at any point leaves no partial file visible.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .._errors import one_line
from .files import remove
from .layout import ARCHIVE_TABLES, DAMAGE_CODES, Partition, partition_of, target_of
from .sources import MAX_STREAM_BYTES, check_bomb


@dataclass
class Job:
    """One source file to write (`path` absolute)."""

    path: str
    size: int
    mtime_ns: int
    product: str | None = None
    stage: str | None = None
    on_error: str = "raise"
    staging: str = ""
    token: str = ""
    parallel: int = 1  # cores the job may use (2 or more: the results are encoded beside the decoding)
    key: str = ""  # the ledger's name for the file (default: path)
    product_default: str | None = None  # used where the MIR has no PART_TYP
    stage_default: str | None = None  # used where the MIR has no TEST_COD / FLOW_ID
    error: str | None = None  # why the file cannot be read at all: reported, never opened
    max_ratio: float | None = None  # decompression bound checked first (sources.check_bomb)
    max_stream_bytes: float = MAX_STREAM_BYTES


@dataclass
class JobResult:
    path: str
    size: int
    mtime_ns: int
    status: str  # 'ok' or 'failed'
    error: str | None = None
    file_id: str | None = None
    content_hash: str | None = None
    n_streams: int = 0
    stream_size: int = 0
    n_warnings: int = 0
    damage: str | None = None  # the first damage warning (DAMAGE_CODES): rows after it are missing
    partitions: list[Partition] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    # (temporary file, target relative to the archive), in the order they must be renamed
    outputs: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    route: str = ""

    @property
    def n_rows(self) -> int:
        return sum(self.rows.values())


#: the route the ledger records for files written by the native writer (`ingest.writer`)
ROUTE = "native"


def run_job(job: Job) -> JobResult:
    """Write every archive table of `job.path` to temporary files under `job.staging`.

    Never raises for a bad source file: the error is returned in the result (status 'failed')."""
    t0 = time.perf_counter()
    res = JobResult(path=job.key or job.path, size=job.size, mtime_ns=job.mtime_ns, status="failed")
    res.route = ROUTE
    w = _Write(job, res)
    try:
        w.run()
        res.status = "ok"
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a bad file is recorded, the run goes on
        res.status = "failed"
        msg = one_line(e)
        for name in (job.path, w.read_path):
            if msg.startswith(name + ": "):
                msg = msg[len(name) + 2 :]
        res.error = msg
        res.outputs = []
        for tmp in w.written:
            remove(tmp)
    finally:
        w.close()
    res.seconds = time.perf_counter() - t0
    return res


class _Write:
    """The state of one `run_job`: one pass of the native writer over the file (every archive
    table, one temporary Parquet file per table and stream in `job.staging`), then the partition
    of each stream and the file's place in the archive."""

    def __init__(self, job: Job, res: JobResult) -> None:
        self.job, self.res = job, res
        self.written: list[str] = []
        self.read_path: str = job.path
        self.alias: str | None = None

    def run(self) -> None:
        from .. import _native

        job, res = self.job, self.res
        if job.error:
            raise ValueError(job.error)
        if job.max_ratio is not None:
            check_bomb(job.path, job.max_ratio, job.max_stream_bytes)
        self.read_path, self.alias = sql_path(job.path, os.path.join(job.staging, f"{job.token}.src"))
        out = _native.write_archive(
            self.read_path,
            job.staging,
            job.token,
            job.key or job.path,
            on_error=job.on_error,
            file_path=(job.key or job.path) if self.alias is not None else None,
            threads=job.parallel,
        )
        streams: list[list[dict[str, Any]]] = out["streams"]
        self.written.extend(f["path"] for files in streams for f in files)
        res.file_id = str(out["file_id"])
        rows = [_stream_row(files) for files in streams]
        first = rows[0]
        res.content_hash = first.get("content_hash")
        res.n_streams = len(rows)
        res.stream_size = int(first.get("stream_size") or 0)
        res.n_warnings = sum(int(r.get("n_warnings") or 0) for r in rows)
        res.rows = dict.fromkeys(ARCHIVE_TABLES, 0)
        names: dict[tuple[str, Partition], int] = {}
        for s, (files, row) in enumerate(zip(streams, rows, strict=True)):
            part = partition_of(row, job.product, job.stage, job.product_default, job.stage_default)
            if part not in res.partitions:
                res.partitions.append(part)
            for f in files:
                t = str(f["table"])
                res.rows[t] += int(f["rows"])
                # a second stream of the same partition (concatenated files) gets its own name
                seen = names.setdefault((t, part), s)
                name = res.file_id if seen == s else f"{res.file_id}-{s}"
                res.outputs.append((str(f["path"]), target_of(t, part, name)))
        if res.rows.get("warnings"):
            res.damage = _damage(_table_file(streams[0], "warnings"), job.path)

    def close(self) -> None:
        if self.alias is not None:
            remove(self.alias)


def _table_file(files: list[dict[str, Any]], table: str) -> str:
    return next(str(f["path"]) for f in files if f["table"] == table)


def _stream_row(files: list[dict[str, Any]]) -> dict[str, Any]:
    """The stdf_files row of one stream, as written (its MIR context under its own names again)."""
    import pyarrow.parquet as pq

    (row,) = pq.ParquetFile(_table_file(files, "files")).read().to_pylist()  # read_table would import pandas
    for c in ("part_typ", "test_stage", "lot_id"):
        row[c] = row.pop(f"source_{c}", None)
    return dict(row)


def sql_path(path: str, alias: str) -> tuple[str, str | None]:
    """The name under which SQL reads `path`: the path itself (the table functions read a path
    that exists as that file, never as a glob), or, for a name that is not valid UTF-8 (SQL text
    cannot hold it), a symbolic link `alias` to it; returns (name, alias or None)."""
    try:
        path.encode("utf-8")
        return path, None
    except UnicodeEncodeError:
        pass
    try:
        os.unlink(alias)
    except FileNotFoundError:
        pass
    os.symlink(os.path.abspath(path), alias)
    return alias, alias


def _damage(warnings_file: str, path: str) -> str | None:
    """The first damage warning of a file's warnings (written to `warnings_file`), as one line
    (without the file's `path`, which the ledger row names)."""
    import pyarrow.parquet as pq

    rows = [w for w in pq.ParquetFile(warnings_file).read().to_pylist() if w["code"] in DAMAGE_CODES]
    if not rows:
        return None
    w = min(rows, key=lambda r: (r["byte_offset"] is None, r["byte_offset"] or 0))
    at = f" at byte {w['byte_offset']:,}" if w["byte_offset"] is not None else ""
    message = w["message"]
    message = message[len(path) + 2 :] if message.startswith(path + ": ") else message
    return f"{w['code']}{at}: {message}"


# ---- worker processes ------------------------------------------------------------------------


def _watch_parent(parent_pid: int) -> None:
    """Exit at once when the parent dies (kill -9 included): an orphan must not keep writing."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(0.2)


def worker_init(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, workers do not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def worker_run(job: Job) -> JobResult:
    return run_job(job)
