"""What every figure shares: opening a source, fetching a relation as Vega-Lite data values,
the bin colours, the group labels, and `save` (PNG/SVG by vl-convert, HTML with the Vega
scripts inlined)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import altair as alt

from .._output import atomic_output
from ..analysis.source import Source, as_source, literal

#: passing bins get greens, failing bins these (no green), in bin-number order
PASS_COLORS = ("#2ca02c", "#98df8a", "#1b7837", "#a6dba0", "#5aae61", "#00441b")
FAIL_COLORS = (
    "#d62728", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#ff9896", "#aec7e8", "#ffbb78", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
    "#9edae5", "#393b79", "#843c39", "#7b4173",
)  # fmt: skip
PASS_FAIL = {"pass": "#2ca02c", "fail": "#d62728"}
NO_VALUE = "#d9d9d9"
#: the --by of the distribution figures -> the test_results column that holds it
GROUP_COLUMNS = {"site": "site_num", "wafer": "wafer_id", "lot": "lot_id", "stage": "test_stage", "file": "file_path"}


#: what the figure functions return: an Altair top-level chart (layered)
Figure = alt.TopLevelMixin


def data(values: list[dict[str, Any]]) -> Any:
    """Inline Vega-Lite data (no pandas needed; rows already aggregated by DuckDB)."""
    return alt.Data(values=values)  # type: ignore[no-untyped-call]


def served() -> None:
    """For a server's process (the dashboard, the HTTP API): Altair stops checking each schema
    object as it is made (its debug mode, a third of a wafer map's time); `spec` and `save` still
    check what they are given when asked, and the tests check every figure (plots.save)."""
    alt.utils.schemapi.disable_debug_mode()


def spec(chart: Figure) -> dict[str, Any]:
    """The Vega-Lite spec of a figure as a dict, without the JSON-schema check of every object
    (~40 ms of a wafer map: the figures' specs are checked by the tests)."""
    out: dict[str, Any] = chart.to_dict(validate=False)
    return out


@contextlib.contextmanager
def opened(source: Any) -> Iterator[Source]:
    """The Source of `source`, closed on exit when it was opened here (fetch inside)."""
    src, owned = as_source(source)
    try:
        yield src
    finally:
        if owned:
            src.close()


def _plain(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    return v


def values(rel: Any) -> list[dict[str, Any]]:
    """The rows of a (small, already aggregated) relation as JSON-ready dicts."""
    cols = list(rel.columns)
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in rel.fetchall()]


@contextlib.contextmanager
def frozen(src: Source, rel: Any) -> Iterator[Any]:
    """`rel` computed once (an Arrow table registered on the source's connection) for the several
    small queries a figure runs on it; unregistered on exit."""
    import uuid

    name = f"__stdf_plot_{uuid.uuid4().hex[:12]}"
    src.con.register(name, rel.to_arrow_table())
    try:
        yield src.sql(f"FROM {name}")
    finally:
        src.con.unregister(name)


def sql_on(rel: Any, query: str) -> Any:
    """`query` over `rel`, named `t` in it (DuckDB's relation.query)."""
    return rel.query("t", query)


def lit(v: Any) -> str:
    return literal(v)


def bin_label(num: Any, name: Any) -> str:
    """The legend text of a bin: its number and name ('2 PARAMETRIC', or '8')."""
    text = "?" if num is None else str(num)
    return f"{text} {name}" if name else text


def bin_colors(bins: Sequence[tuple[Any, bool]]) -> list[str]:
    """A colour per (bin number, passing) in the given order: greens for passing bins."""
    out: list[str] = []
    n_pass = n_fail = 0
    for _num, passing in bins:
        if passing:
            out.append(PASS_COLORS[n_pass % len(PASS_COLORS)])
            n_pass += 1
        else:
            out.append(FAIL_COLORS[n_fail % len(FAIL_COLORS)])
            n_fail += 1
    return out


def group_column(by: str | None) -> str | None:
    if by is None:
        return None
    if by not in GROUP_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(GROUP_COLUMNS)}, not {by!r}")
    return GROUP_COLUMNS[by]


def save(chart: alt.TopLevelMixin, path: str | os.PathLike[str], *, scale: float = 1.0) -> str:
    """Write `chart` to `path` by its extension: .png (pixels = the chart's size x `scale`),
    .svg, or .html (standalone, the Vega scripts inlined: opens offline). Written atomically;
    returns the path. PNG and SVG are rendered by vl-convert, without a browser."""
    import vl_convert as vlc

    out = os.fspath(path)
    ext = os.path.splitext(out)[1].lower()
    spec = chart.to_dict()
    data: bytes
    if ext == ".png":
        data = vlc.vegalite_to_png(spec, scale=float(scale))
    elif ext == ".svg":
        data = vlc.vegalite_to_svg(spec).encode("utf-8")
    elif ext in (".html", ".htm"):
        data = vlc.vegalite_to_html(spec, bundle=True).encode("utf-8")
    else:
        raise ValueError(f"cannot write {ext or 'a file without extension'}: use .png, .svg or .html")
    with atomic_output(out) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return out
