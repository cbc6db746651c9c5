"""`stdf-duck`: the command line, a thin shell over the library.

Exit codes: 0 success; 1 failure (a file that could not be read or written, an SQL error);
2 usage error (bad option, missing file); 3 the archive is busy (another materialize or sync holds it);
130 interrupted (Ctrl-C, SIGTERM). Errors are one line on stderr, without a traceback
(set STDF_DUCK_DEBUG=1 to see one).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_INTERRUPTED = 130

_F = TypeVar("_F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Failure(Exception):
    """An error reported as one line with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def _err(msg: str) -> None:
    click.echo(f"stdf-duck: error: {msg}", err=True)


def archive_option(required: bool = False, create: bool = False) -> Callable[[_F], _F]:
    """`--archive/-a DIR`: the one name of the archive on every command that takes one."""
    what = "Archive directory (created if needed)." if create else ("An archive directory (or its archive.duckdb).")
    return click.option(
        "--archive",
        "-a",
        "archive_dir",
        required=required,
        metavar="DIR",
        type=click.Path(file_okay=not create),
        help=what,
    )


def one_archive(**given: str | None) -> str | None:
    """The archive named by one or more spellings (`--archive`, a positional ARCHIVE, `--db`):
    they must agree."""
    named = {k: v for k, v in given.items() if v is not None}
    if len({os.path.normpath(v) for v in named.values()}) > 1:
        raise click.UsageError(
            "the archive is named twice, differently: " + ", ".join(f"{k} {v}" for k, v in named.items())
        )
    return next(iter(named.values()), None)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stdf-duck")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "unknown"


@click.group(context_settings=CONTEXT)
@click.version_option(_version(), "-V", "--version", prog_name="stdf-duck")
def cli() -> None:
    """Query STDF files in place and keep them in a Parquet archive.

    \b
      stdf-duck info lot.stdf.gz                       what is in a file
      stdf-duck query "SELECT count(*) FROM stdf_parts('lots/*.stdf')"
      stdf-duck materialize lots/ --archive arch       STDF -> Hive-partitioned Parquet
      stdf-duck query --archive arch "SELECT lot_id, avg(passed::INT) FROM parts GROUP BY 1"
      stdf-duck convert lots/ --out pq                 the direct Rust writer, same layout
      stdf-duck sync --config stdf-duck.toml           new files from the testers' servers
      stdf-duck status --archive arch                  the ledger: states, failures, last syncs

    \b
    An archive is named --archive DIR (-a DIR) on every command that takes one.

    \b
    Exit codes: 0 ok, 1 failure (some file or the SQL failed), 2 usage error,
    3 archive busy, 130 interrupted.
    """


# ---- info ------------------------------------------------------------------------------------


def _info_paths(args: Sequence[str]) -> list[str]:
    import glob

    from .archive import SourceError, expand_sources

    out: list[str] = []
    for a in args:
        if glob.has_magic(a) or os.path.isdir(a):
            out.extend(expand_sources([a]))
        elif os.path.exists(a):
            out.append(a)
        else:
            raise SourceError(f"no such file or directory: {a}")
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


_INFO_FIELDS = (
    "file_id",
    "stream_index",
    "stream_count",
    "lot_id",
    "sblot_id",
    "part_typ",
    "test_stage",
    "test_cod",
    "flow_id",
    "tstr_typ",
    "node_nam",
    "exec_typ",
    "exec_ver",
    "job_nam",
    "job_rev",
    "oper_nam",
    "start_time",
    "finish_time",
    "byte_order",
    "cpu_type",
    "stdf_ver",
    "stdf_extensions",
    "compression",
    "file_size",
    "stream_size",
    "content_hash",
    "n_records",
    "n_parts",
    "n_parts_final",
    "n_passed_final",
    "yield_final",
    "n_wafers",
    "n_sites",
    "n_tests",
    "n_results",
    "n_warnings",
    "complete",
)


def file_info(path: str) -> list[dict[str, Any]]:
    """The info of one file: one dict per FAR..MRR stream (raises StdfError when unreadable)."""
    import stdf_duck

    files = stdf_duck.read("files", path, on_error="warn").to_arrow().to_pylist()
    warnings = stdf_duck.read("warnings", path, on_error="warn").to_arrow().to_pylist()
    if not files:
        msg = warnings[0]["message"] if warnings else "no STDF stream found"
        raise stdf_duck.StdfFormatError(msg)
    recs = stdf_duck.read("records", path, columns=["stream_index", "rec_name"], on_error="warn").to_arrow()
    counts: dict[int, dict[str, int]] = {}
    if recs.num_rows:
        g = recs.group_by(["stream_index", "rec_name"]).aggregate([("rec_name", "count")]).to_pylist()
        for r in g:
            counts.setdefault(int(r["stream_index"]), {})[str(r["rec_name"])] = int(r["rec_name_count"])
    out = []
    for f in files:
        d: dict[str, Any] = {"path": path}
        d.update({k: f.get(k) for k in _INFO_FIELDS})
        c = counts.get(int(f["stream_index"]), {})
        d["record_counts"] = dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        d["warnings"] = [
            {
                "record_index": w.get("record_index"),
                "byte_offset": w.get("byte_offset"),
                "code": w.get("code"),
                "message": w.get("message"),
            }
            for w in warnings
        ]
        out.append(d)
    return out


def _n(v: Any) -> str:
    return "-" if v is None else (f"{v:,}" if isinstance(v, int) else str(v))


def _print_info(d: dict[str, Any]) -> None:
    name = d["path"] + (
        f"  [stream {d['stream_index']} of {d['stream_count']}]" if (d.get("stream_count") or 1) > 1 else ""
    )
    size = f"{_n(d['file_size'])} bytes" + (
        f", {_n(d['stream_size'])} decompressed" if d.get("compression") not in (None, "none") else ""
    )
    click.echo(click.style(name, bold=True))
    rows = [
        (
            "file",
            f"{d['compression']}, {size}, {d['byte_order']}-endian, STDF V{d['stdf_ver']}"
            + (f" ({', '.join(d['stdf_extensions'])})" if d.get("stdf_extensions") else ""),
        ),
        ("file_id", d["file_id"]),
        ("lot", f"{_n(d['lot_id'])}" + (f" (sublot {d['sblot_id']})" if d.get("sblot_id") else "")),
        ("part type", _n(d["part_typ"])),
        ("stage", f"{_n(d['test_stage'])} (TEST_COD {_n(d['test_cod'])}, FLOW_ID {_n(d['flow_id'])})"),
        (
            "tester",
            f"{_n(d['tstr_typ'])}, node {_n(d['node_nam'])}, {_n(d['exec_typ'])} {d.get('exec_ver') or ''}".rstrip(),
        ),
        ("program", f"{_n(d['job_nam'])}" + (f" rev {d['job_rev']}" if d.get("job_rev") else "")),
        ("time", f"{_n(d['start_time'])} -> {_n(d['finish_time'])}"),
        ("records", f"{_n(d['n_records'])}: " + ", ".join(f"{k} {v:,}" for k, v in d["record_counts"].items())),
    ]
    y = d.get("yield_final")
    rows.append(
        (
            "parts",
            f"{_n(d['n_parts'])} tested, {_n(d['n_parts_final'])} final, {_n(d['n_passed_final'])} passed"
            + (f", yield {100 * y:.2f} %" if y is not None else ""),
        )
    )
    rows.append(
        (
            "content",
            f"wafers {_n(d['n_wafers'])}, sites {_n(d['n_sites'])}, tests {_n(d['n_tests'])}, results {_n(d['n_results'])}",
        )
    )
    rows.append(("complete", "yes" if d["complete"] else "no"))
    rows.append(("warnings", _n(d["n_warnings"])))
    for k, v in rows:
        click.echo(f"  {k:<10} {v}")
    for w in d["warnings"][:5]:
        at = f" at byte {w['byte_offset']:,}" if w.get("byte_offset") is not None else ""
        click.echo(f"    {w['code']}{at}: {w['message']}")
    if len(d["warnings"]) > 5:
        click.echo(f"    ... {len(d['warnings']) - 5} more")


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (one object per stream).")
def info(files: tuple[str, ...], as_json: bool) -> int:
    """What is in STDF files: tester, lot, part type, stage, byte order, compression,
    record counts, parts, yield, warnings.

    FILE may be a file, a directory or a glob; damaged files are reported with what could be read.
    """
    from stdf_duck import StdfError

    paths = _info_paths(files)
    out: list[dict[str, Any]] = []
    failed = 0
    for p in paths:
        try:
            streams = file_info(p)
        except StdfError as e:
            failed += 1
            _err(_clean(e))
            continue
        if as_json:
            out.extend(streams)
        else:
            for d in streams:
                _print_info(d)
    if as_json:
        click.echo(json.dumps(_jsonable(out), indent=2))
    return EXIT_FAILURE if failed else EXIT_OK


# ---- query -----------------------------------------------------------------------------------


def open_query_connection(db: str | None) -> Any:
    """A stdf_duck connection; with `db`, the archive's views (over its actual location) and a
    copy of its ledger tables (ingest, runs, sync_files, syncs) in the in-memory database: nothing of
    the archive stays open (stdf_duck.catalog.reader), and a writer never waits for it."""
    import stdf_duck

    from .archive import Archive
    from .catalog import copy_ledger, create_views

    con = stdf_duck.connect()
    if db is None:
        return con
    try:
        root = Archive.locate(db).root
        copy_ledger(con, root)
        create_views(con, root)
    except BaseException:
        con.close()
        raise
    return con


def _read_sql(sql: str) -> str:
    if sql == "-":
        sql = sys.stdin.read()
    elif sql.startswith("@") and os.path.isfile(sql[1:]):
        with open(sql[1:], encoding="utf-8") as f:
            sql = f.read()
    if not sql.strip():
        raise Failure("empty SQL", EXIT_USAGE)
    return sql


@contextlib.contextmanager
def _atomic_output(path: str, binary: bool = True) -> Any:
    """A temporary file next to `path`, renamed over it only when the block succeeds."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@cli.command(context_settings=CONTEXT)
@click.argument("sql")
@archive_option()
@click.option("--db", "db", hidden=True, type=click.Path())  # the older name of --archive, kept for scripts
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "csv", "json", "parquet"]),
    default="table",
    show_default=True,
    help="Output format (json: an array of objects; parquet needs --output).",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to this file (else stdout)."
)
@click.option(
    "--max-rows", type=click.IntRange(min=0), default=40, show_default=True, help="table format: rows shown (0: all)."
)
def query(sql: str, archive_dir: str | None, db: str | None, fmt: str, output: str | None, max_rows: int) -> int:
    """Run SQL with every stdf_* table function (and, with --archive, the archive's views parts,
    results, tests, bins, wafers, files and its ledger tables ingest and runs).

    SQL is the statement text, '-' to read it from stdin, or @FILE. Several statements may be
    given; the result of the last one is printed.

    \b
      stdf-duck query "SELECT * FROM stdf_files('lots/*.stdf.gz')"
      stdf-duck query --archive arch -f csv -o yield.csv \\
          "SELECT lot_id, count(*), avg(passed::INT) FROM parts WHERE is_final GROUP BY 1"
    """
    db = one_archive(**{"--archive": archive_dir, "--db": db})
    if fmt == "parquet" and not output:
        raise click.UsageError("--format parquet needs --output FILE")
    text = _read_sql(sql)
    con = open_query_connection(db)
    try:
        rel = con.sql(text)
        if rel is None:
            return EXIT_OK
        if fmt == "table":
            width = shutil.get_terminal_size((120, 40)).columns
            rows = max_rows if max_rows > 0 else 2**62
            if output:
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    rel.show(max_rows=rows, max_width=10**6)
                with _atomic_output(output) as tmp, open(tmp, "w", encoding="utf-8") as f:
                    f.write(buf.getvalue())
            else:
                rel.show(max_rows=rows, max_width=width)
            return EXIT_OK
        from .archive_worker import sql_literal

        view = f"__stdf_duck_query_{os.getpid()}"
        rel.create_view(view)
        options = {
            "csv": "FORMAT csv, HEADER true",
            "json": "FORMAT json, ARRAY true",
            "parquet": "FORMAT parquet, COMPRESSION zstd",
        }[fmt]
        if output:
            with _atomic_output(output) as tmp:
                con.execute(f"COPY (SELECT * FROM {view}) TO {sql_literal(tmp)} ({options})")
        else:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="stdf-duck-") as d:
                tmp = os.path.join(d, f"out.{fmt}")
                con.execute(f"COPY (SELECT * FROM {view}) TO {sql_literal(tmp)} ({options})")
                with open(tmp, "rb") as f:
                    shutil.copyfileobj(f, sys.stdout.buffer)
                if fmt == "json":
                    sys.stdout.buffer.write(b"\n")
                sys.stdout.buffer.flush()
        return EXIT_OK
    finally:
        con.close()


# ---- materialize -----------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


class _RichProgress:
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
            "mb": f"{_mb(self.done_bytes)}/{_mb(self.n_bytes)} MB",
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


class _QuietProgress:
    """No bar: a failed file is still reported (one line on stderr)."""

    def start(self, n_files: int, n_bytes: int, n_unchanged: int) -> None:
        pass

    def file_done(self, o: Any) -> None:
        if o.status == "failed":
            _err(f"{o.path}: {o.error}")
        elif o.status == "partial":
            _err(f"{o.path}: partial (its rows before the damage are written): {o.error}")

    def message(self, text: str) -> None:
        pass

    def stop(self) -> None:
        pass


def _print_summary(report: Any) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    dt = max(report.seconds, 1e-9)
    tab = Table(box=box.SIMPLE_HEAD, title=f"archive {report.archive}", title_justify="left", show_footer=False)
    tab.add_column("files")
    tab.add_column("count", justify="right")
    tab.add_column("MB", justify="right")
    tab.add_column("rows", justify="right")
    labels = {
        "ok": "written",
        "partial": "partial (written up to damage)",
        "unchanged": "unchanged (skipped)",
        "duplicate": "duplicate (skipped)",
        "skipped": "failed before (skipped)",
        "failed": "failed",
    }
    for st, label in labels.items():
        items = [o for o in report.outcomes if o.status == st]
        if st == "skipped" and not items:
            continue
        tab.add_row(
            label,
            f"{len(items):,}",
            _mb(sum(o.size for o in items)),
            f"{sum(o.n_rows for o in items):,}" if st in ("ok", "partial") else "",
        )
    console.print(tab)
    rows = report.rows()
    if any(rows.values()):
        console.print("rows written: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    route = f", {report.route} route" if report.route else ""
    line = f"{report.seconds:.1f} s, {report.workers} worker{'s' if report.workers != 1 else ''}{route}, "
    line += f"{report.bytes_processed / 1e6 / dt:,.1f} MB/s read"
    if report.stream_bytes_processed != report.bytes_processed:
        line += f" ({report.stream_bytes_processed / 1e6 / dt:,.1f} MB/s of decompressed STDF)"
    console.print(line)
    if report.failed:  # each one was reported on stderr as it happened
        console.print(
            f"{len(report.failed)} file{'s' if len(report.failed) > 1 else ''} failed; the errors are in the ledger: "
            f"stdf-duck query --archive {report.archive} \"SELECT path, error FROM ingest WHERE status = 'failed'\"",
            style="red",
        )
    if report.partial:
        console.print(
            f"{len(report.partial)} file{'s' if len(report.partial) > 1 else ''} lost rows (decode ended on damage; its rows "
            f"before are in): stdf-duck query --archive {report.archive} \"SELECT * FROM warnings WHERE path = '...'\"",
            style="red",
        )
    if report.count("skipped"):
        console.print(
            f"{report.count('skipped')} file(s) failed before with the same size and mtime and were not read "
            "again (stdf-duck status lists them; --retry-failed reads them)"
        )


@cli.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@archive_option(required=True, create=True)
@click.option("--product", help="Product (part_typ partition) for every file; default: MIR PART_TYP.")
@click.option("--stage", help="Test stage (test_stage partition) for every file; default: MIR TEST_COD, else FLOW_ID.")
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), help="Files written in parallel.  [default: number of CPUs]"
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "warn"]),
    default="raise",
    show_default=True,
    help="raise: a damaged file fails; warn: keep its rows before the damage.",
)
@click.option(
    "--retry-failed", is_flag=True, help="Read again the files that failed before with the same size and mtime."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary (failures still on stderr).")
def materialize(
    sources: tuple[str, ...],
    archive_dir: str,
    product: str | None,
    stage: str | None,
    workers: int | None,
    on_error: str,
    retry_failed: bool,
    quiet: bool,
) -> int:
    """STDF files, directories or globs -> a Hive-partitioned Parquet archive.

    \b
    ARCHIVE/<table>/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet   (zstd)
    for the tables parts, results (sorted by test_num, part_index), tests, bins, wafers, warnings,
    files; ARCHIVE/archive.duckdb has a view per table and per ledger table (ingest, runs).

    Incremental and safe: a file already in the archive is skipped, a changed file replaces its
    rows, a kill leaves no partial file visible (run again to complete), a file that fails (or,
    with --on-error warn, loses rows to damage: 'partial') is recorded and the run goes on (exit
    code 1); run again, it is not read again while unchanged (exit code 0). One materialize per
    archive at a time; readers of the archive never stop it.
    """
    from . import archive as arc

    progress: Any = _QuietProgress() if (quiet or not sys.stderr.isatty()) else _RichProgress()
    report = arc.materialize(
        list(sources),
        archive_dir,
        product=product,
        stage=stage,
        workers=workers,
        on_error=on_error,
        retry_failed=retry_failed,
        progress=progress,
        command=" ".join(["stdf-duck", "materialize", *sys.argv[2:]]) if sys.argv else None,
    )
    if not quiet:
        _print_summary(report)
    if report.interrupted:
        click.echo("stdf-duck: interrupted: run the same command again to complete the archive", err=True)
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILURE


# ---- convert ---------------------------------------------------------------------------------


def convert_one(path: str, out: str, product: str | None, stage: str | None, on_error: str) -> dict[str, Any]:
    """One file -> `out` in the archive's layout (parse_to_parquet), written in a staging folder
    and renamed into place: a failure leaves nothing of that file. Returns parse_to_parquet's stats
    with "files" as their final paths."""
    import tempfile

    import stdf_duck

    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".stdf-duck-tmp-", dir=out)
    try:
        stats = stdf_duck.parse_to_parquet(
            path, staging, product, stage, on_error="warn" if on_error == "warn" else "raise"
        )
        written = []
        for p in stats.get("files", []):
            dst = os.path.join(out, os.path.relpath(p, staging))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.replace(p, dst)
            written.append(dst)
        stats["files"] = written
        return stats
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_warnings(path: str) -> None:
    import stdf_duck

    warned = stdf_duck.read("warnings", path, on_error="warn").to_arrow().to_pylist()
    for w in warned[:5]:
        at = f" at byte {w['byte_offset']:,}" if w.get("byte_offset") is not None else ""
        click.echo(f"stdf-duck: warning: {path}: {w['code']}{at}: {w['message']}", err=True)
    if len(warned) > 5:
        click.echo(f"stdf-duck: warning: {path}: ... {len(warned) - 5} more", err=True)


@cli.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--product", help="part_typ directory value; default: MIR PART_TYP.")
@click.option("--stage", help="test_stage directory value; default: MIR TEST_COD, else FLOW_ID.")
@click.option(
    "--on-error",
    type=click.Choice(["raise", "warn"]),
    default="raise",
    show_default=True,
    help="raise: a damaged file fails; warn: keep its rows before the damage.",
)
def convert(sources: tuple[str, ...], out: str, product: str | None, stage: str | None, on_error: str) -> int:
    """STDF files, directories or globs -> Parquet with the direct Rust writer (parse_to_parquet).

    \b
    OUT/{parts,tests,results}/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet  (zstd)
    the archive's layout and partition values (see materialize), with no ledger. Each file is
    written in a temporary folder and renamed into place; a file that fails is reported and the
    others go on (exit code 1).
    """
    from stdf_duck import StdfError

    from .archive import expand_sources

    paths = expand_sources(sources)
    failed = 0
    for path in paths:
        t0 = time.perf_counter()
        try:
            stats = convert_one(path, out, product, stage, on_error)
        except StdfError as e:
            failed += 1
            _err(_clean(e))
            continue
        dt = time.perf_counter() - t0
        click.echo(
            f"{path}: parts {stats['parts']:,}, tests {stats['tests']:,}, results {stats['results']:,} "
            f"in {dt:.2f} s ({os.path.getsize(path) / 1e6 / max(dt, 1e-9):,.1f} MB/s)"
        )
        if stats.get("warnings"):
            _print_warnings(path)
        for w in stats["files"]:
            click.echo(f"  {w}")
    return EXIT_FAILURE if failed else EXIT_OK


# ---- entry point -----------------------------------------------------------------------------


def _clean(exc: BaseException) -> str:
    from .archive_worker import one_line

    return one_line(exc)


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: returns the exit code (see the module doc)."""
    from .archive import ArchiveBusyError, ArchiveError, SourceError
    from .config import ConfigError

    if threading_main():
        try:
            signal.signal(signal.SIGTERM, _sigterm)
        except (ValueError, OSError):  # pragma: no cover
            pass
    debug = bool(os.environ.get("STDF_DUCK_DEBUG"))
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="stdf-duck", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.exceptions.Abort:
        click.echo("stdf-duck: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as e:
        e.show()
        return EXIT_USAGE
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    except KeyboardInterrupt:
        click.echo("stdf-duck: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `stdf-duck query ... | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as e:
        from .archive_worker import _is_interrupt

        if _is_interrupt(e) and not isinstance(e, Failure):
            click.echo("stdf-duck: interrupted", err=True)
            return EXIT_INTERRUPTED
        if debug:
            raise
        code = EXIT_FAILURE
        if isinstance(e, Failure):
            code = e.code
        elif isinstance(e, (SourceError, ConfigError)):
            code = EXIT_USAGE
        elif isinstance(e, ArchiveBusyError):
            code = EXIT_BUSY
        elif isinstance(e, ArchiveError):
            code = EXIT_USAGE
        elif isinstance(e, FileNotFoundError) and not _is_stdf_error(e):
            code = EXIT_USAGE  # a missing argument; a file missing inside SQL is a data error (1)
        if not _is_known(e):
            _err(f"internal error: {type(e).__name__}: {_clean(e)} (STDF_DUCK_DEBUG=1 shows the traceback)")
        else:
            _err(_clean(e))
        return code


def _is_stdf_error(e: BaseException) -> bool:
    from stdf_duck import StdfError

    return isinstance(e, StdfError)


def _is_known(e: BaseException) -> bool:
    from stdf_duck import StdfError

    from .archive import ArchiveError, SourceError

    if isinstance(e, (Failure, SourceError, ArchiveError, StdfError, OSError, ValueError)):
        return True
    try:
        import duckdb

        return isinstance(e, duckdb.Error)
    except ImportError:  # pragma: no cover
        return False


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


from . import cli_sync as _cli_sync  # noqa: E402, F401  (registers sync, status, config)

if __name__ == "__main__":  # pragma: no cover
    # `python -m stdf_duck.cli`: run the importable module's group (the one cli_sync registered on)
    from stdf_duck.cli import main as _main

    sys.exit(_main())
