"""`stdf-duck sync`, `stdf-duck status` and `stdf-duck config check|example` (registered on the
`stdf-duck` group by stdf_duck.cli)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from .cli import (
    CONTEXT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    _jsonable,
    _mb,
    archive_option,
    cli,
    one_archive,
)
from .sync import SyncProgress

EXAMPLE = """# stdf-duck.toml: where the archive is and where the STDF files come from.
# Check it with `stdf-duck config check`; run `stdf-duck sync` (daily, from cron or a systemd timer).

[archive]
path = "stdf-archive"            # the archive directory (relative: to this file)
on_error = "raise"               # a damaged file fails ("warn": keep its rows before the damage)

[sync]
download_workers = 4             # downloads in parallel
# workers = 2                    # files decoded and written in parallel (default: the CPUs)
stable_seconds = 30              # a file is taken once its size and mtime stayed the same this long
keep_downloads = false           # keep the downloaded copies in ARCHIVE/.downloads
max_ratio = 200                  # a compressed file may not expand more than this (bomb guard)
max_stream_mb = 65536            # nor beyond this many MB

[retry]
attempts = 5                     # per transfer; a dropped connection resumes where it stopped
backoff_seconds = 2              # first wait, doubled after each failure ...
max_backoff_seconds = 60         # ... up to this
timeout_seconds = 60             # per network operation

[[sources]]
name = "floor1"
url = "ftp://tester@ftp.floor1.example.com/outgoing/stdf"   # ftp, ftps, sftp, s3 or a directory
password = "${FLOOR1_FTP_PASSWORD}"                        # secrets come from the environment
include = ["*.std", "*.stdf", "*.std.*", "*.stdf.*"]       # lot.std, lot.stdf, lot.stdf.gz (.bz2 .zip .zst ...)
exclude = ["*.tmp", "*.part"]                              # case-sensitive: add "*.STD", "*.STDF.*" ... if need be
recursive = true
# options = { ca_file = "ca.pem" }          # ftps: CA of a private certificate
# options = { known_hosts = "~/.ssh/known_hosts", key_filename = "~/.ssh/id_ed25519" }   # sftp

[[sources]]
name = "local-drop"
url = "/data/stdf/incoming"      # a local directory: read in place, nothing copied
include = ["*.std", "*.stdf", "*.std.*", "*.stdf.*"]
exclude = ["*.tmp", "*.part"]

# Product and stage for files whose MIR lacks PART_TYP / TEST_COD (the MIR wins when it has them).
[[rules]]
source = "floor1"
match = '^(?P<product>[A-Za-z0-9_-]+)/(?P<stage>WS[0-9]|FT[0-9])/'   # on the path under the source
product = "{product}"
stage = "{stage}"

[[rules]]
product = "{mir.job_nam}"        # any stdf_files column of the MIR
"""


def _load(config: str | None) -> Any:
    from .config import load_config

    return load_config(config)


class _SyncBars(SyncProgress):
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


class _SyncLog(SyncProgress):
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


class _Redacting(logging.Filter):
    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.cfg = cfg

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.cfg.redact(record.getMessage())
        record.args = None
        return True


def _setup_logging(cfg: Any, verbose: int, quiet: bool) -> logging.Handler:
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter("%(asctime)s stdf-duck %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    h.addFilter(_Redacting(cfg))
    lg = logging.getLogger("stdf_duck")
    lg.addHandler(h)
    lg.setLevel(
        logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING if not quiet else logging.ERROR
    )
    return h


def _print_sync_summary(report: Any, cfg: Any) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    states = tuple(
        s
        for s in (
            "unchanged",
            "ingested",
            "partial",
            "duplicate",
            "downloaded",
            "unstable",
            "skipped",
            "failed",
            "error",
            "rejected",
        )
        if s == "ingested" or report.count(s)
    )
    tab = Table(
        box=box.SIMPLE_HEAD,
        title=f"sync into {report.archive}" + (" (dry run)" if report.dry_run else ""),
        title_justify="left",
    )
    tab.add_column("source")
    tab.add_column("listed", justify="right")
    actions = tuple(
        a
        for a in ("unchanged", "download", "ingest", "wait", "skip", "reject")
        if a == "download" or any(e.action == a for e in report.entries)
    )
    if report.dry_run:
        for a in actions:
            tab.add_column(a, justify="right")
    else:
        for s in states:
            tab.add_column(s, justify="right")
    tab.add_column("MB down", justify="right")
    names = [
        s.name for s in cfg.sources if any(e.source == s.name for e in report.entries) or s.name in report.source_errors
    ]
    for n in names:
        es = [e for e in report.entries if e.source == n]
        if report.dry_run:
            cells = [str(sum(1 for e in es if e.action == a)) for a in actions]
        else:
            cells = [str(sum(1 for e in es if e.state == s)) for s in states]
        tab.add_row(n, str(len(es)), *cells, _mb(sum(e.downloaded for e in es)))
    console.print(tab)
    for n, err in report.source_errors.items():
        console.print(f"{n}: cannot list the source: {err}", style="red")
    dt = max(report.seconds, 1e-9)
    if not report.dry_run:
        n_in = report.count("ingested") + report.count("duplicate")
        console.print(
            f"{report.seconds:.1f} s; {n_in} file(s) ingested ({n_in / dt:.1f} files/s, {report.bytes_ingested / 1e6 / dt:,.1f} MB/s), "
            f"{_mb(report.bytes_downloaded)} MB downloaded"
        )
        if report.failed:
            console.print(f"{len(report.failed)} file(s) failed: stdf-duck status --config {cfg.path}", style="red")
    else:
        for e in report.entries:
            if e.action in ("download", "ingest", "wait", "reject"):
                console.print(f"  {e.action:<8} {e.source}: {e.rel}  ({e.size:,} bytes)")


@cli.command(context_settings=CONTEXT)
@click.option(
    "--config",
    "-c",
    "config",
    type=click.Path(dir_okay=False),
    help="Configuration file.  [default: $STDF_DUCK_CONFIG, else ./stdf-duck.toml]",
)
@click.option("--source", "-s", "sources", multiple=True, help="Sync only this source (repeatable).")
@click.option("--dry-run", is_flag=True, help="List and say what would be done; change nothing.")
@click.option("--no-ingest", is_flag=True, help="Download and verify only; a later sync ingests the files.")
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Seconds to wait for another sync or materialize to finish (0: refuse at once, exit 3).",
)
@click.option(
    "--retry-failed", is_flag=True, help="Take again the files that failed on their content (e.g. after an upgrade)."
)
@click.option("--verbose", "-v", count=True, help="Log each step on stderr (-vv: more).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars, no summary; errors only.")
def sync(
    config: str | None,
    sources: tuple[str, ...],
    dry_run: bool,
    no_ingest: bool,
    wait_s: float,
    retry_failed: bool,
    verbose: int,
    quiet: bool,
) -> int:
    """Fetch new STDF files from the configured sources into the archive.

    \b
    Lists every source (ftp://, ftps://, sftp://, s3://, a directory), skips what the ledger
    already has (same size and mtime) and files still being written, downloads the rest in
    parallel (resuming a dropped transfer, retrying with backoff), verifies and materializes them,
    and records every step in ARCHIVE/archive.duckdb (tables sync_files, syncs, ingest).
    Safe to re-run at any time; one sync per archive at a time (exit 3 when busy).
    Exit codes: 0 all done, 1 some file or source failed, 2 bad configuration, 3 busy, 130 interrupted.
    """
    from . import sync as sy

    cfg = _load(config)
    handler = _setup_logging(cfg, verbose, quiet)
    bars = _SyncBars() if (not quiet and sys.stderr.isatty()) else _SyncLog()
    try:
        report = sy.sync(
            cfg,
            list(sources) or None,
            dry_run=dry_run,
            ingest=not no_ingest,
            wait=wait_s,
            progress=bars,
            command=" ".join(["stdf-duck", "sync", *sys.argv[2:]]) if sys.argv else None,
            retry_failed=retry_failed,
        )
    finally:
        bars.close()
        logging.getLogger("stdf_duck").removeHandler(handler)
    if not quiet:
        _print_sync_summary(report, cfg)
    if report.interrupted:
        click.echo("stdf-duck: interrupted: run the same sync again to complete it", err=True)
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILURE


@cli.command(context_settings=CONTEXT)
@click.argument("archive", required=False, type=click.Path())
@archive_option()
@click.option(
    "--config", "-c", "config", type=click.Path(dir_okay=False), help="Take the archive from this configuration file."
)
@click.option(
    "--failures", "-n", type=click.IntRange(min=0), default=20, show_default=True, help="How many failures to list."
)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
def status(archive: str | None, archive_dir: str | None, config: str | None, failures: int, as_json: bool) -> int:
    """The archive's ledger: files by state, failures with their errors, the last sync per source.

    The archive is --archive DIR (or DIR alone: `stdf-duck status DIR`); without it, the archive
    of the configuration file (--config, $STDF_DUCK_CONFIG or ./stdf-duck.toml)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from .sync import status as get_status

    archive = one_archive(**{"ARCHIVE": archive, "--archive": archive_dir})
    if archive is None:
        archive = _load(config).archive
    st = get_status(archive, failures)
    if as_json:
        click.echo(json.dumps(_jsonable(st), indent=2))
        return EXIT_OK
    con = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    con.print(f"[bold]archive[/bold] {st['archive']}")
    ing = st["ingest"]
    con.print(
        "ingested files: "
        + (", ".join(f"{k} {v:,}" for k, v in ing.items()) or "none")
        + f"; {_mb(st['ingest_bytes'])} MB of STDF in the archive"
    )
    if st["last_sync"]:
        t = Table(box=box.SIMPLE_HEAD, title="last sync per source", title_justify="left")
        for c in (
            "source",
            "url",
            "finished",
            "status",
            "listed",
            "ingested",
            "duplicate",
            "unstable",
            "failed",
            "MB down",
            "s",
        ):
            t.add_column(
                c,
                justify="right"
                if c in ("listed", "ingested", "duplicate", "unstable", "failed", "MB down", "s")
                else "left",
            )
        for r in st["last_sync"]:
            t.add_row(
                r["source"],
                r["url"],
                str(r["finished_at"] or r["started_at"])[:19],
                r["status"] + (f": {r['error']}" if r["error"] else ""),
                *(
                    str(r[k] if r[k] is not None else "")
                    for k in ("n_listed", "n_ingested", "n_duplicate", "n_unstable", "n_failed")
                ),
                _mb(r["bytes_downloaded"] or 0),
                f"{r['seconds'] or 0:.1f}",
            )
        con.print(t)
    if st["sync"]:
        t = Table(box=box.SIMPLE_HEAD, title="sync ledger: files by state", title_justify="left")
        for c in ("source", "state", "files", "MB"):
            t.add_column(c, justify="right" if c in ("files", "MB") else "left")
        for r in st["sync"]:
            t.add_row(r["source"], r["state"], f"{r['n']:,}", _mb(r["bytes"] or 0))
        con.print(t)
    in_sync = {r["key"] for r in st["sync_failures"]}
    fails = st["sync_failures"] + [r for r in st["failures"] if r["file"] not in in_sync]
    if fails:
        t = Table(box=box.SIMPLE_HEAD, title="failures (latest first)", title_justify="left")
        for c in ("when", "file", "state", "error"):
            t.add_column(c, overflow="fold")
        for r in fails[:failures]:
            name = f"{r['source']}: {r['file']}" if "source" in r else r["file"]
            t.add_row(str(r["at"])[:19], name, r.get("state", "failed"), r["error"] or "")
        con.print(t)
    return EXIT_OK


@cli.group(context_settings=CONTEXT)
def config() -> None:
    """Check the configuration file, or print an example."""


@config.command("check", context_settings=CONTEXT)
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--config", "-c", "config_opt", type=click.Path(dir_okay=False), help="Same as FILE.")
def config_check(file: str | None, config_opt: str | None) -> int:
    """Validate FILE (default: $STDF_DUCK_CONFIG, else ./stdf-duck.toml): every problem is listed
    with its place (sources[1].url: ...); environment variables must be set. Exit 0 when valid, 2 if not."""
    from .config import ConfigError

    try:
        cfg = _load(file or config_opt)
    except ConfigError as e:
        click.echo(f"stdf-duck: {e.path}: invalid configuration:", err=True)
        for p in e.problems:
            click.echo(f"  {p}", err=True)
        return EXIT_USAGE
    click.echo(f"{cfg.path}: ok")
    click.echo(f"  archive  {cfg.archive}")
    for s in cfg.sources:
        click.echo(
            f"  source   {s.name}: {s.display}  include {', '.join(s.include)}"
            + (f"  exclude {', '.join(s.exclude)}" if s.exclude else "")
        )
    click.echo(f"  rules    {len(cfg.rules)}")
    return EXIT_OK


@config.command("example", context_settings=CONTEXT)
def config_example() -> int:
    """Print a commented example configuration (stdf-duck config example > stdf-duck.toml)."""
    click.echo(EXAMPLE, nl=False)
    return EXIT_OK
