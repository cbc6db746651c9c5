"""One source file -> temporary Parquet files, one per archive table and partition.

Runs in the `stdf-duck materialize` process or in its worker processes. It never touches the
visible archive: the parent renames the temporary files into place and records them in the
ledger (`stdf_duck.archive`), so a kill at any point leaves no partial file visible.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from string import Template
from typing import Any

from .discovery import MAX_STREAM_BYTES, check_bomb

#: The archive's tables, in the order they are written (files last: it is the smallest).
ARCHIVE_TABLES: tuple[str, ...] = ("parts", "results", "tests", "bins", "wafers", "warnings", "files")
#: Partition columns, in directory order (stdf-reference.md section 4.11).
PARTITION_COLUMNS: tuple[str, ...] = ("part_typ", "test_stage", "lot_id")
NULL_PARTITION = "__NULL__"
#: stdf_warnings codes of damage, where rows were lost: the decode ended there (the ErrorKind names
#: of stdf-core) or skipped a damaged stretch up to the next valid records ('desync', stdf-core
#: scan.rs). A file with one of them is 'partial' in the ledger
DAMAGE_CODES: tuple[str, ...] = ("format", "truncated", "unsupported", "io", "desync")
_MAX_VALUE_BYTES = 180

_UNSAFE = re.compile(r"[/\\=%*?\[\]\x00-\x1f\x7f]")
_sources = itertools.count()


def sanitize(value: object) -> str:
    """A partition value that is safe as a directory name and reads back unchanged in DuckDB,
    pyarrow and polars: `/ \\ = % * ? [ ]` and control characters become `_`; empty or NULL
    becomes `__NULL__`; a value longer than 180 UTF-8 bytes is cut and suffixed with a hash."""
    if value is None:
        return NULL_PARTITION
    s = _UNSAFE.sub("_", str(value))
    if not s.strip():
        return NULL_PARTITION
    if len(s.encode("utf-8")) > _MAX_VALUE_BYTES:
        import hashlib

        digest = hashlib.sha1(s.encode("utf-8")).hexdigest()[:12]
        cut = s.encode("utf-8")[: _MAX_VALUE_BYTES - 13].decode("utf-8", "ignore")
        s = f"{cut}~{digest}"
    return s


def sql_literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


_TEMPLATES: dict[str, Template] = {}


def sql_template(name: str) -> Template:
    """stdf_duck/sql/archive/<name>.sql, shipped as package data."""
    t = _TEMPLATES.get(name)
    if t is None:
        text = resources.files("stdf_duck").joinpath("sql", "archive", f"{name}.sql").read_text(encoding="utf-8")
        t = _TEMPLATES[name] = Template(text)
    return t


def render(template: str, /, **values: str) -> str:
    """stdf_duck/sql/archive/<template>.sql with its ${...} placeholders filled."""
    return sql_template(template).substitute(values)


_WRAPPERS = (
    re.compile(r"reading the stream registered as '[^']*' failed: (External error: )?"),
    re.compile(r"^Invalid Input Error: (?=STDF )"),
    re.compile(r"^STDF \w+ error: "),
)


def one_line(exc: BaseException) -> str:
    """An exception as one line: DuckDB's `LINE 1: ...` context and carets are dropped, and so
    are the wrappers an STDF error gets on its way through DuckDB (same text on both routes)."""
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines()]
    keep = [ln for ln in lines if ln and not ln.startswith("LINE ") and set(ln) != {"^"}]
    out = " ".join(keep) if keep else type(exc).__name__
    for rx in _WRAPPERS:
        out = rx.sub("", out)
    if out.startswith("Invalid Input Error: /"):
        out = out[len("Invalid Input Error: ") :]
    return out


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
    max_ratio: float | None = None  # decompression bound checked first (discovery.check_bomb)
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
    partitions: list[tuple[str, str, str]] = field(default_factory=list)
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
        rows = con.execute(
            f"SELECT message FROM stdf_warnings({sql_literal(path)}, on_error := 'warn') LIMIT 1"
        ).fetchall()
    except Exception:
        return None
    return str(rows[0][0]) if rows else None


#: set by the SIGINT/SIGTERM handler of `stdf_duck.archive.materialize`: an error raised while it
#: is set is the interrupt seen through DuckDB or an Arrow callback, not a fault of the file
INTERRUPTED = threading.Event()


def _is_interrupt(e: BaseException) -> bool:
    """True for an interrupt, whatever DuckDB or an Arrow callback made of it."""
    if isinstance(e, KeyboardInterrupt) or INTERRUPTED.is_set():
        return True
    name = type(e).__name__
    text = str(e)
    return (
        name == "InterruptException"
        or "KeyboardInterrupt" in text
        or (isinstance(e, RuntimeError) and "interrupted" in text.lower())
    )


def _given(v: Any) -> bool:
    return v is not None and str(v).strip() != ""


def partition_of(
    row: dict[str, Any],
    product: str | None,
    stage: str | None,
    product_default: str | None = None,
    stage_default: str | None = None,
) -> tuple[str, str, str]:
    """(part_typ, test_stage, lot_id) directory values of one stdf_files row: the override, else
    the MIR value, else the default (a sync rule), else __NULL__."""

    from .config import fill_mir

    def pick(override: str | None, mir: Any, default: str | None) -> Any:
        if override is not None:
            return override
        return mir if _given(mir) else fill_mir(default, row)

    return (
        sanitize(pick(product, row.get("part_typ"), product_default)),
        sanitize(pick(stage, row.get("test_stage"), stage_default)),
        sanitize(row.get("lot_id")),
    )


def target_of(table: str, part: tuple[str, str, str], file_id: str) -> str:
    dirs = "/".join(f"{c}={v}" for c, v in zip(PARTITION_COLUMNS, part, strict=True))
    return f"{table}/{dirs}/{file_id}.parquet"


def run_job(job: Job, con: Any) -> JobResult:
    """Write every archive table of `job.path` to temporary files under `job.staging`.

    Never raises for a bad source file: the error is returned in the result (status 'failed')."""
    import stdf_duck

    t0 = time.perf_counter()
    res = JobResult(path=job.key or job.path, size=job.size, mtime_ns=job.mtime_ns, status="failed")
    try:
        res.route = stdf_duck.route(con)
    except Exception:
        res.route = "?"
    written: list[str] = []
    src_name = f"_stdf_duck_files_{os.getpid()}_{next(_sources)}"
    registered = False
    read_path, alias = job.path, None
    try:
        if job.error:
            raise ValueError(job.error)
        if job.max_ratio is not None:
            check_bomb(job.path, job.max_ratio, job.max_stream_bytes)
        read_path, alias = sql_path(job.path, os.path.join(job.staging, f"{job.token}.src"))
        path = sql_literal(read_path)
        on_error = sql_literal(job.on_error)
        files = _arrow_table(con.sql(render("scan_files", path=path, on_error=on_error)))
        if alias is not None:  # the files table names the source, not its alias
            files = _with_file_path(files, job.key or job.path)
        rows = files.to_pylist()
        if not rows:
            msg = _warning_message(con, read_path) or "no STDF stream found"
            raise ValueError(msg)
        res.file_id = str(rows[0]["file_id"])
        res.content_hash = rows[0].get("content_hash")
        res.n_streams = len(rows)
        res.stream_size = int(rows[0].get("stream_size") or 0)
        res.n_warnings = sum(int(r.get("n_warnings") or 0) for r in rows)
        groups: dict[tuple[str, str, str], list[int]] = {}
        for r in rows:
            groups.setdefault(
                partition_of(r, job.product, job.stage, job.product_default, job.stage_default), []
            ).append(int(r["stream_index"]))
        res.partitions = list(groups)
        con.register(src_name, files)
        registered = True
        file_id = res.file_id

        def copy(c: Any, table: str) -> int:
            n_table = 0
            for g, (_part, streams) in enumerate(groups.items()):
                where = "" if len(groups) == 1 else f"WHERE stream_index IN ({', '.join(map(str, streams))})"
                values = {"path": path, "on_error": on_error, "where": where, "target": sql_literal(tmp_of(table, g))}
                if table == "files":
                    values["source"] = src_name
                elif table == "warnings":  # all of a file's warnings go with its first partition
                    values.update(key=sql_literal(res.path), where="" if g == 0 and res.n_warnings else "WHERE false")
                out = c.execute(render(f"copy_{table}", **values)).fetchone()
                n_table += int(out[0]) if out else 0
            return n_table

        def tmp_of(table: str, g: int) -> str:
            return os.path.join(job.staging, f"{job.token}-{table}-{g}.parquet.tmp")

        written.extend(tmp_of(t, g) for t in ARCHIVE_TABLES for g in range(len(groups)))
        # the small tables in other connections while this one writes results (one file, many cores)
        side = [t for t in ARCHIVE_TABLES if t not in ("results", "files")] if job.parallel > 1 else []
        counts: dict[str, int] = {}
        if side:
            from concurrent.futures import ThreadPoolExecutor

            all_cursors = [con.cursor() for _ in range(min(job.parallel - 1, len(side)))]
            cursors = list(all_cursors)
            pool = ThreadPoolExecutor(len(cursors))
            try:
                futs = {t: pool.submit(_on_cursor, cursors, copy, t) for t in side}
                for t in ("results", "files"):
                    counts[t] = copy(con, t)
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
        else:
            for t in ARCHIVE_TABLES:
                counts[t] = copy(con, t)
        if counts.get("warnings"):
            res.damage = _damage(con, tmp_of("warnings", 0), job.path)
        for t in ARCHIVE_TABLES:
            res.rows[t] = counts[t]
            for g, part in enumerate(groups):
                res.outputs.append((tmp_of(t, g), target_of(t, part, file_id)))
        res.status = "ok"
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a bad file is recorded, the run goes on
        if _is_interrupt(e):  # Ctrl-C while DuckDB ran the query
            raise KeyboardInterrupt from None
        res.status = "failed"
        msg = one_line(e)
        for named in (job.path, read_path):
            if msg.startswith(named + ": "):
                msg = msg[len(named) + 2 :]
        res.error = msg
        res.outputs = []
        for tmp in written:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    finally:
        if registered:
            try:
                con.unregister(src_name)
            except Exception:
                pass
        if alias is not None:
            try:
                os.unlink(alias)
            except OSError:
                pass
    res.seconds = time.perf_counter() - t0
    return res


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
    rows = con.execute(  # fetchall: the connection takes the next job's queries (no pending result)
        f"SELECT code, byte_offset, message FROM read_parquet({sql_literal(warnings_file)}) "
        f"WHERE code IN ({codes}) ORDER BY byte_offset NULLS LAST LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    code, offset, message = rows[0]
    at = f" at byte {offset:,}" if offset is not None else ""
    message = message[len(path) + 2 :] if message.startswith(path + ": ") else message
    return f"{code}{at}: {message}"


_cursor_lock = threading.Lock()


def _on_cursor(cursors: list[Any], fn: Any, table: str) -> int:
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
