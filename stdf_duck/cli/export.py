"""`stdf-duck export`: test results of files or of an archive to CSV, Parquet or Excel, long or pivot
(a thin shell over stdf_duck.analysis.export)."""

from __future__ import annotations

import datetime as _dt

import click

from ._common import CONTEXT, EXIT_OK, EXIT_USAGE, Failure, archive_option, filter_options


def _date(value: str | None, option: str) -> _dt.date | None:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"{option} must be a date YYYY-MM-DD, not {value!r}") from None


def _tests(values: tuple[str, ...]) -> list[str] | None:
    """`--tests 1000,1010 --tests 'name'`: every key or number, commas splitting."""
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


@click.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, metavar="SOURCE...")
@archive_option()
@click.option(
    "--to",
    "out",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Output file: .csv, .parquet or .xlsx (the format follows the suffix).",
)
@click.option(
    "--shape",
    type=click.Choice(["long", "pivot"]),
    default="long",
    show_default=True,
    help="long: one row per result; pivot: one row per die, a column per test.",
)
@filter_options
@click.option(
    "--test-key",
    type=click.Choice(["number", "name", "number_name"]),
    default="number_name",
    show_default=True,
    help="How tests are told apart (testers reuse numbers).",
)
@click.option(
    "--die-key",
    type=click.Choice(["xy", "part_id", "none"]),
    default="xy",
    show_default=True,
    help="How a die is recognised across files (retests).",
)
@click.option("--all-insertions", is_flag=True, help="Every insertion of every die, not only the final one.")
@click.option(
    "--tests",
    "tests",
    multiple=True,
    metavar="KEYS",
    help="Only these tests: test keys or numbers, comma-separated (repeatable).",
)
def export(
    sources: tuple[str, ...],
    archive_dir: str | None,
    out: str,
    shape: str,
    product: str | None,
    stage: str | None,
    lot: str | None,
    wafer: str | None,
    site: int | None,
    date_from: str | None,
    date_to: str | None,
    test_key: str,
    die_key: str,
    all_insertions: bool,
    tests: tuple[str, ...],
) -> int:
    """Export the test results of the final dice (retests consolidated across files) of STDF
    files or of an archive.

    \b
    long   one row per result: the die (lot_id, wafer_id, x_coord, y_coord, part_id,
           head_num, site_num, hard_bin, soft_bin, part_passed, insertion, file_path)
           then the test (rec_type, test_key, test_num, test_name, pin_name, units,
           lo_limit, hi_limit, result, passed); CSV and Parquet stream with bounded memory.
    pivot  one row per die, one column per test (MPR: per pin, KEY@PIN); CSV and Excel
           start with the rows test_num, test_name, pin_name, units, lo_limit, hi_limit
           (labelled in the first column, "row"); Parquet keeps them in its key-value
           metadata under "stdf_duck.tests" (JSON).

    \b
      stdf-duck export lots/*.stdf.gz --to results.parquet
      stdf-duck export --archive arch --lot L123 --shape pivot --to L123.xlsx
      stdf-duck export lot.stdf retest.stdf --shape pivot --tests 1000,1010 --to two.csv
      stdf-duck export --archive arch --wafer W07 --all-insertions --to w07_all.csv
      stdf-duck export --archive arch --from 2026-11-01 --until 2026-11-30 --to nov.parquet

    The file is written to a temporary name and renamed when complete.
    """
    from ..analysis.export import export as run_export
    from ..analysis.export import format_of

    if archive_dir is not None and sources:
        raise click.UsageError("give STDF files or --archive DIR, not both")
    if archive_dir is None and not sources:
        raise click.UsageError("give STDF files (or globs, folders) or --archive DIR")
    try:
        format_of(out)
    except ValueError as e:
        raise Failure(str(e), EXIT_USAGE) from None
    result = run_export(
        archive_dir if archive_dir is not None else list(sources),
        out,
        shape,
        test_key=test_key,
        all_insertions=all_insertions,
        tests=_tests(tests),
        die_key=die_key,
        product=product,
        stage=stage,
        lot=lot,
        wafer=wafer,
        site=site,
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--until"),
    )
    what = "results" if shape == "long" else f"dice x {len(result.tests):,} tests"
    click.echo(f"{result.path}: {result.rows:,} {what} ({result.format}, {shape})", err=True)
    return EXIT_OK
