"""One source file -> temporary Parquet files, one per archive table and partition.

Runs in the `stdf-duck materialize` process or in its worker processes. It never touches the
visible archive: the parent renames the temporary files into place and records them in the
ledger (`stdf_duck.archive.commit`), so a kill at any point leaves no partial file visible.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import one_line
from ._sql import dicts, render, scalar, sql_literal
from .files import remove
from .layout import ARCHIVE_TABLES, DAMAGE_CODES, Partition, partition_of, target_of
from .signals import is_interrupt
from .sources import MAX_STREAM_BYTES, check_bomb

_sources = itertools.count()
#: written by the job's own connection; the other tables go to side cursors when it has threads
_MAIN_TABLES = ("results", "files")


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
    parallel: int = 1  # DuckDB threads of the worker: > 1 writes the small tables concurrently
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


def connect(threads: int = 0, memory_limit: str | None = None, temp_directory: str | None = None) -> Any:
    """A stdf_duck connection (native extension when available, else the rewrite route)."""
    import stdf_duck

    con = stdf_duck.connect()
    if threads > 0:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    if temp_directory:
        con.execute(f"SET temp_directory = {sql_literal(temp_directory)}")
    con.execute("SET preserve_insertion_order = false")
    return con


def _arrow_table(rel: Any) -> Any:
    for name in ("to_arrow_table", "fetch_arrow_table"):
        fn = getattr(rel, name, None)
        if fn is not None:
            return fn()
    return rel.arrow()


def _warning_message(con: Any, path: str) -> str | None:
    try:
        message = scalar(con, f"SELECT message FROM stdf_warnings({sql_literal(path)}, on_error := 'warn') LIMIT 1")
    except Exception:
        return None
    return None if message is None else str(message)


def _route(con: Any) -> str:
    import stdf_duck

    try:
        return str(stdf_duck.route(con))
    except Exception:
        return "?"


def run_job(job: Job, con: Any) -> JobResult:
    """Write every archive table of `job.path` to temporary files under `job.staging`.

    Never raises for a bad source file: the error is returned in the result (status 'failed')."""
    t0 = time.perf_counter()
    res = JobResult(path=job.key or job.path, size=job.size, mtime_ns=job.mtime_ns, status="failed")
    res.route = _route(con)
    w = _Write(job, con, res)
    try:
        w.run()
        res.status = "ok"
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a bad file is recorded, the run goes on
        if is_interrupt(e):  # Ctrl-C while DuckDB ran the query
            raise KeyboardInterrupt from None
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
    """The state of one `run_job`: the scan of the file's streams, then one COPY per table and
    partition into `job.staging`."""

    def __init__(self, job: Job, con: Any, res: JobResult) -> None:
        self.job, self.con, self.res = job, con, res
        self.written: list[str] = []
        self.src_name = f"_stdf_duck_files_{os.getpid()}_{next(_sources)}"
        self.registered = False
        self.read_path: str = job.path
        self.alias: str | None = None
        self.groups: dict[Partition, list[int]] = {}

    def run(self) -> None:
        job, res = self.job, self.res
        if job.error:
            raise ValueError(job.error)
        if job.max_ratio is not None:
            check_bomb(job.path, job.max_ratio, job.max_stream_bytes)
        self.read_path, self.alias = sql_path(job.path, os.path.join(job.staging, f"{job.token}.src"))
        self.path, self.on_error = sql_literal(self.read_path), sql_literal(job.on_error)
        self.scan()
        self.written.extend(self.tmp_of(t, g) for t in ARCHIVE_TABLES for g in range(len(self.groups)))
        counts = self.copy_parallel() if job.parallel > 1 else {t: self.copy(self.con, t) for t in ARCHIVE_TABLES}
        if counts.get("warnings"):
            res.damage = _damage(self.con, self.tmp_of("warnings", 0), job.path)
        for t in ARCHIVE_TABLES:
            res.rows[t] = counts[t]
            for g, part in enumerate(self.groups):
                res.outputs.append((self.tmp_of(t, g), target_of(t, part, res.file_id or "")))

    def scan(self) -> None:
        """The file's stdf_files rows: its identity, and its streams grouped by partition."""
        job, res = self.job, self.res
        files = _arrow_table(self.con.sql(render("scan_files", path=self.path, on_error=self.on_error)))
        if self.alias is not None:  # the files table names the source, not its alias
            files = _with_file_path(files, job.key or job.path)
        rows = files.to_pylist()
        if not rows:
            raise ValueError(_warning_message(self.con, self.read_path) or "no STDF stream found")
        first = rows[0]
        res.file_id = str(first["file_id"])
        res.content_hash = first.get("content_hash")
        res.n_streams = len(rows)
        res.stream_size = int(first.get("stream_size") or 0)
        res.n_warnings = sum(int(r.get("n_warnings") or 0) for r in rows)
        for r in rows:
            part = partition_of(r, job.product, job.stage, job.product_default, job.stage_default)
            self.groups.setdefault(part, []).append(int(r["stream_index"]))
        res.partitions = list(self.groups)
        self.con.register(self.src_name, files)
        self.registered = True

    def tmp_of(self, table: str, g: int) -> str:
        return os.path.join(self.job.staging, f"{self.job.token}-{table}-{g}.parquet.tmp")

    def copy(self, c: Any, table: str) -> int:
        """COPY one table of the file, one staged file per partition; returns its rows."""
        n_table = 0
        for g, streams in enumerate(self.groups.values()):
            where = "" if len(self.groups) == 1 else f"WHERE stream_index IN ({', '.join(map(str, streams))})"
            values = {"path": self.path, "on_error": self.on_error, "where": where}
            values["target"] = sql_literal(self.tmp_of(table, g))
            if table == "files":
                values["source"] = self.src_name
            elif table == "warnings":  # all of a file's warnings go with its first partition
                first = g == 0 and self.res.n_warnings
                values.update(key=sql_literal(self.res.path), where="" if first else "WHERE false")
            n_table += int(scalar(c, render(f"copy_{table}", **values)) or 0)  # COPY returns its row count
        return n_table

    def copy_parallel(self) -> dict[str, int]:
        """The small tables in other cursors while this connection writes results (one file, many cores)."""
        from concurrent.futures import ThreadPoolExecutor

        side = [t for t in ARCHIVE_TABLES if t not in _MAIN_TABLES]
        all_cursors = [self.con.cursor() for _ in range(min(self.job.parallel - 1, len(side)))]
        cursors = list(all_cursors)
        pool = ThreadPoolExecutor(len(cursors))
        counts: dict[str, int] = {}
        try:
            futs = {t: pool.submit(_on_cursor, cursors, self.copy, t) for t in side}
            for t in _MAIN_TABLES:
                counts[t] = self.copy(self.con, t)
            for t, f in futs.items():
                counts[t] = f.result()
        except BaseException:
            for c in all_cursors:
                try:
                    c.interrupt()
                except Exception:
                    pass
            raise
        finally:
            pool.shutdown(wait=True)
            for c in all_cursors:
                c.close()
        return counts

    def close(self) -> None:
        if self.registered:
            try:
                self.con.unregister(self.src_name)
            except Exception:
                pass
        if self.alias is not None:
            remove(self.alias)


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


def _with_file_path(files: Any, name: str) -> Any:
    """The stdf_files rows with file_path set to `name` (a file read through its alias)."""
    import pyarrow as pa

    i = files.schema.get_field_index("file_path")
    if i < 0:
        return files
    return files.set_column(i, files.schema.field(i), pa.array([name] * files.num_rows, files.schema.field(i).type))


def _damage(con: Any, warnings_file: str, path: str) -> str | None:
    """The first damage warning of a file's warnings (written to `warnings_file`), as one line
    (without the file's `path`, which the ledger row names)."""
    codes = ", ".join(sql_literal(c) for c in DAMAGE_CODES)
    rows = dicts(  # all fetched: the connection takes the next job's queries (no pending result)
        con,
        f"SELECT code, byte_offset, message FROM read_parquet({sql_literal(warnings_file)}) "
        f"WHERE code IN ({codes}) ORDER BY byte_offset NULLS LAST LIMIT 1",
    )
    if not rows:
        return None
    w = rows[0]
    at = f" at byte {w['byte_offset']:,}" if w["byte_offset"] is not None else ""
    message = w["message"]
    message = message[len(path) + 2 :] if message.startswith(path + ": ") else message
    return f"{w['code']}{at}: {message}"


_cursor_lock = threading.Lock()


def _on_cursor(cursors: list[Any], fn: Callable[[Any, str], int], table: str) -> int:
    """Run fn(cursor, table) on a free cursor of the pool (one query per cursor at a time)."""
    with _cursor_lock:
        c = cursors.pop()
    try:
        return int(fn(c, table))
    finally:
        with _cursor_lock:
            cursors.append(c)


# ---- worker processes ------------------------------------------------------------------------

_CON: Any = None


def _watch_parent(parent_pid: int) -> None:
    """Exit at once when the parent dies (kill -9 included): an orphan must not keep writing."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(0.2)


def worker_init(parent_pid: int, threads: int, memory_limit: str | None, temp_directory: str | None) -> None:
    global _CON
    # Ctrl-C reaches the whole process group: the parent decides, workers do not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    _CON = connect(threads, memory_limit, temp_directory)


def worker_run(job: Job) -> JobResult:
    if _CON is None:  # pragma: no cover - worker_init always runs first
        raise RuntimeError("worker not initialised")
    return run_job(job, _CON)
