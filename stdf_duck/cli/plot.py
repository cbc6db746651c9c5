"""`stdf-duck plot KIND SOURCE... --out FILE`: a figure of stdf_duck.plots (wafer map, the maps
of a lot's wafers, stacked fail map, bin Pareto, histogram, box plot, trend, scatter) written as PNG, SVG or HTML."""

from __future__ import annotations

from typing import Any

import click

from ._common import CONTEXT, EXIT_OK, EXIT_USAGE, Failure, archive_option, filter_options, one_archive

KINDS = ("wafermap", "lotmaps", "stacked", "pareto", "histogram", "box", "trend", "scatter")
NEEDS_TEST = ("histogram", "box", "scatter")


def _chart(kind: str, src: Any, test: tuple[str, ...], by: str | None, color: str | None, opts: dict[str, Any]) -> Any:
    from .. import plots

    if kind in NEEDS_TEST and not test:
        raise Failure(f"plot {kind} needs --test KEY" + (" twice (x, then y)" if kind == "scatter" else ""), EXIT_USAGE)
    if kind == "wafermap":
        return plots.wafer_map(src, color=color or (test[0] if test else "bin"), **opts)
    if kind == "lotmaps":
        return plots.lot_maps(src, color=color or "bin", **opts)
    if kind == "stacked":
        return plots.stacked_map(src, **opts)
    if kind == "pareto":
        return plots.bin_pareto(src, **opts)
    if kind == "histogram":
        return plots.histogram(src, test[0], by=by, **opts)
    if kind == "box":
        return plots.box(src, test[0], by=by or "site", **opts)
    if kind == "trend":
        return plots.trend(src, test=test[0] if test else None, by=by or "lot", **opts)
    if len(test) != 2:
        raise Failure("plot scatter needs --test twice: the x test, then the y test", EXIT_USAGE)
    return plots.scatter(src, test[0], test[1], **opts)


@click.command(context_settings=CONTEXT)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("sources", nargs=-1)
@archive_option()
@click.option("--out", "-o", "out", required=True, type=click.Path(dir_okay=False), help="FILE.png, .svg or .html.")
@click.option("--test", "-t", "test", multiple=True, metavar="KEY", help="A test_key (scatter: twice, x then y).")
@click.option("--by", help="histogram/box: site, wafer, lot, stage, file; trend: lot, wafer, day, ... (comma list).")
@click.option("--color", help="wafermap: bin (default), pass, or a test_key; lotmaps: bin or pass.")
@click.option(
    "--bin-type", type=click.Choice(["H", "S", "h", "s"]), help="wafermap, lotmaps, pareto: hard or soft bins."
)
@filter_options
@click.option("--test-key", type=click.Choice(["number", "name", "number_name"]), help="How tests are told apart.")
@click.option(
    "--scale", type=click.FloatRange(min=0.1, max=10), default=1.0, show_default=True, help="PNG: pixel scale."
)
def plot(
    kind: str,
    sources: tuple[str, ...],
    archive_dir: str | None,
    out: str,
    test: tuple[str, ...],
    by: str | None,
    color: str | None,
    scale: float,
    **opts: Any,
) -> int:
    """Draw a figure of STDF files or of an archive into FILE.png, .svg or .html.

    KIND is one of wafermap, lotmaps, stacked, pareto, histogram, box, trend, scatter
    (the functions of stdf_duck.plots over stdf_duck.analysis).

    \b
      stdf-duck plot wafermap lot.stdf.gz --wafer W01 --out w01.png
      stdf-duck plot wafermap -a arch --lot L1 --wafer 3 --color pass --out w3.svg
      stdf-duck plot lotmaps -a arch --lot L1 --out l1.png        every wafer of the lot
      stdf-duck plot histogram -a arch --test 1000:VDD_LEAK --by site --out vdd.png
      stdf-duck plot scatter -a arch -t 1000:VDD_LEAK -t 1010:IDDQ --out corr.html
      stdf-duck plot trend -a arch --by lot --test 1000:VDD_LEAK --out trend.png
    """
    from .. import plots
    from ..analysis import Source

    if not out.lower().endswith((".png", ".svg", ".html", ".htm")):
        raise Failure(f"--out {out}: use a .png, .svg or .html file", EXIT_USAGE)
    archive = one_archive(**{"--archive": archive_dir})
    if archive is not None and sources:
        raise Failure("give either files or --archive, not both", EXIT_USAGE)
    if archive is None and not sources:
        raise Failure("no source: give STDF files or --archive DIR", EXIT_USAGE)
    params: dict[str, Any] = {k: v for k, v in opts.items() if v is not None}
    if "bin_type" in params:
        if kind not in ("wafermap", "lotmaps", "pareto"):
            raise Failure("--bin-type is for wafermap, lotmaps and pareto", EXIT_USAGE)
        params["bin_type"] = str(params["bin_type"]).upper()
    if color is not None and kind not in ("wafermap", "lotmaps"):
        raise Failure("--color is for wafermap and lotmaps", EXIT_USAGE)
    src = Source(list(sources)) if archive is None else Source(archive=archive)
    try:
        try:
            chart = _chart(kind, src, test, by, color, params)
        except (TypeError, ValueError) as e:
            raise Failure(f"plot {kind}: {e}", EXIT_USAGE) from None
        plots.save(chart, out, scale=scale)
        click.echo(out)
        return EXIT_OK
    finally:
        src.close()
