"""`stdf-duck report KIND SOURCE...`: an analysis of stdf_duck.analysis (the SQL macros of
sql/analysis/) on files or an archive, printed as a table, CSV or JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from ._common import CONTEXT, EXIT_OK, EXIT_USAGE, Failure, archive_option, filter_options, one_archive
from .query import write_relation

#: report name -> stdf_duck.analysis function name (other analysis functions by their own name)
KINDS: dict[str, str] = {
    "yield": "yield_",
    "sites": "site_yield",
    "bins": "bin_pareto",
    "binsites": "bin_sites",
    "tests": "test_stats",
    "firstfail": "first_fail",
    "dice": "dice",
    "insertions": "insertions",
    "wafermap": "wafer_map",
    "stacked": "stacked_map",
    "zones": "zone_yield",
    "radial": "radial",
    "trend": "trend",
    "correlation": "test_correlation",
    "stages": "stage_pairs",
    "pat": "pat_limits",
    "outliers": "pat_outliers",
    "patyield": "pat_yield",
    "whatif": "whatif",
}


def _function(kind: str) -> Any:
    from .. import analysis

    fn = getattr(analysis, KINDS.get(kind, kind.replace("-", "_")), None)
    if fn is None or not callable(fn) or kind.startswith("_"):
        raise Failure(f"unknown report {kind!r}: choose from {', '.join(KINDS)}", EXIT_USAGE)
    return fn


def _value(text: str) -> Any:
    """A --arg value: JSON when it parses (numbers, lists, true/false/null), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@click.command(context_settings=CONTEXT)
@click.argument("kind")
@click.argument("sources", nargs=-1)
@archive_option()
@click.option("--db", "db", hidden=True, type=click.Path())
@click.option("--by", "by", help="Grouping: lot, wafer, site, product, stage, file, tester, day, week (comma list).")
@filter_options
@click.option("--test-key", type=click.Choice(["number", "name", "number_name"]), help="How tests are told apart.")
@click.option("--die-key", type=click.Choice(["xy", "part_id", "none"]), help="How a die is matched across files.")
@click.option("--bin-type", type=click.Choice(["H", "S", "h", "s"]), help="bins, binsites: hard or soft bins.")
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE", help="Any other parameter of the analysis.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option(
    "--max-rows", type=click.IntRange(min=0), default=40, show_default=True, help="table: rows shown (0: all)."
)
def report(
    kind: str,
    sources: tuple[str, ...],
    archive_dir: str | None,
    db: str | None,
    by: str | None,
    args: tuple[str, ...],
    fmt: str,
    output: str | None,
    max_rows: int,
    **filters: Any,
) -> int:
    """Print an analysis of STDF files or of an archive.

    KIND is one of yield, sites, bins, binsites, tests, firstfail, dice, insertions, wafermap,
    stacked, zones, radial, trend, correlation, stages, pat, outliers, patyield, whatif
    (the functions of stdf_duck.analysis; the SQL macros stdf_* of sql/analysis/).

    \b
      stdf-duck report yield lots/*.stdf --by lot,wafer
      stdf-duck report bins --archive arch --lot L123 --bin-type S -f csv
      stdf-duck report tests --archive arch --by site -f json -o tests.json
      stdf-duck report pat --archive arch --arg scope=wafer --arg k=6
    """
    from ..analysis import Source

    fn = _function(kind)
    archive = one_archive(**{"--archive": archive_dir, "--db": db})
    if archive is not None and sources:
        raise Failure("give either files or --archive, not both", EXIT_USAGE)
    if archive is None and not sources:
        raise Failure("no source: give STDF files or --archive DIR", EXIT_USAGE)
    params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    for a in args:
        name, eq, value = a.partition("=")
        if not eq or not name.strip():
            raise Failure(f"--arg wants NAME=VALUE, not {a!r}", EXIT_USAGE)
        params[name.strip()] = _value(value)
    if "bin_type" in params:
        params["bin_type"] = str(params["bin_type"]).upper()
    src = Source(list(sources)) if archive is None else Source(archive=archive)
    try:
        try:
            rel = fn(src, by, **params) if by is not None else fn(src, **params)
        except TypeError as e:
            raise Failure(f"report {kind}: {e}", EXIT_USAGE) from None
        write_relation(src.con, rel, fmt, output, max_rows)
        return EXIT_OK
    finally:
        src.close()
