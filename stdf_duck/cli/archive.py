"""`stdf-duck materialize` and `stdf-duck status`: writing the archive, reading its ledger."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ._common import CONTEXT, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, archive_option, command_line, one_archive
from .files import _ON_ERROR
from .progress import QuietProgress, RichProgress
from .render import jsonable, print_status, print_summary


@click.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@archive_option(required=True, create=True)
@click.option("--product", help="Product (part_typ partition) for every file; default: MIR PART_TYP.")
@click.option("--stage", help="Test stage (test_stage partition) for every file; default: MIR TEST_COD, else FLOW_ID.")
@click.option(
    "--workers", "-j", type=click.IntRange(min=1), help="Files written in parallel.  [default: number of CPUs]"
)
@_ON_ERROR
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
    for the tables parts, results (sorted by test_num) and result_params, tests, bins, wafers, warnings,
    files; ARCHIVE/archive.duckdb has a view per table and per ledger table (ingest, runs).

    Incremental and safe: a file already in the archive is skipped, a changed file replaces its
    rows, a kill leaves no partial file visible (run again to complete), a file that fails (or,
    with --on-error warn, loses rows to damage: 'partial') is recorded and the run goes on (exit
    code 1); run again, it is not read again while unchanged (exit code 0). One materialize per
    archive at a time; readers of the archive never stop it.
    """
    from ..archive import MaterializeOptions
    from ..archive import materialize as run

    options = MaterializeOptions(
        product=product, stage=stage, workers=workers, on_error=on_error, retry_failed=retry_failed
    )
    progress: Any = QuietProgress() if (quiet or not sys.stderr.isatty()) else RichProgress()
    report = run(list(sources), archive_dir, options=options, progress=progress, command=command_line("materialize"))
    if not quiet:
        print_summary(report)
    if report.interrupted:
        click.echo("stdf-duck: interrupted: run the same command again to complete the archive", err=True)
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILURE


@click.command(context_settings=CONTEXT)
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
    from ..config import load_config
    from ..sync import status as get_status

    archive = one_archive(**{"ARCHIVE": archive, "--archive": archive_dir})
    if archive is None:
        archive = load_config(config).archive
    st = get_status(archive, failures)
    if as_json:
        click.echo(json.dumps(jsonable(st), indent=2))
        return EXIT_OK
    print_status(st, failures)
    return EXIT_OK
