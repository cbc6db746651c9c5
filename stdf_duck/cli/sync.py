"""`stdf-duck sync` and `stdf-duck config check|example`."""

from __future__ import annotations

import logging
import sys

import click

from ._common import CONTEXT, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, command_line
from .progress import SyncBars, SyncLog, setup_logging
from .render import print_sync_summary

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


@click.command("sync", context_settings=CONTEXT)
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
def sync_command(
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
    from .. import sync as sy
    from ..config import load_config

    cfg = load_config(config)
    handler = setup_logging(cfg, verbose, quiet)
    bars = SyncBars() if (not quiet and sys.stderr.isatty()) else SyncLog()
    try:
        report = sy.sync(
            cfg,
            list(sources) or None,
            dry_run=dry_run,
            ingest=not no_ingest,
            wait=wait_s,
            progress=bars,
            command=command_line("sync"),
            retry_failed=retry_failed,
        )
    finally:
        bars.close()
        logging.getLogger("stdf_duck").removeHandler(handler)
    if not quiet:
        print_sync_summary(report, cfg)
    if report.interrupted:
        click.echo("stdf-duck: interrupted: run the same sync again to complete it", err=True)
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILURE


@click.group(context_settings=CONTEXT)
def config() -> None:
    """Check the configuration file, or print an example."""


@config.command("check", context_settings=CONTEXT)
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--config", "-c", "config_opt", type=click.Path(dir_okay=False), help="Same as FILE.")
def config_check(file: str | None, config_opt: str | None) -> int:
    """Validate FILE (default: $STDF_DUCK_CONFIG, else ./stdf-duck.toml): every problem is listed
    with its place (sources[1].url: ...); environment variables must be set. Exit 0 when valid, 2 if not."""
    from ..config import ConfigError, load_config

    try:
        cfg = load_config(file or config_opt)
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
