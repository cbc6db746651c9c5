"""stdf_duck.plots: wafer maps, stacked fail maps, bin Paretos, histograms, box plots, trends and
scatter plots of the analysis layer (stdf_duck.analysis), as Altair charts.

Why Altair (Vega-Lite) with vl-convert: one chart object is interactive in Jupyter and in
Streamlit (`st.altair_chart`, with the named selections of each figure), a standalone HTML page,
and a static PNG or SVG rendered by vl-convert (a compiled Vega renderer in a wheel) without a
browser; the spec is JSON, so the HTTP API can ship it too. The data reaches it aggregated by
DuckDB (histogram bins, box quantiles, one row per die of a map), never millions of points.

    from stdf_duck import plots
    chart = plots.wafer_map("lot2.stdf.gz", color="bin")
    plots.save(chart, "map.png", scale=2)
"""

from __future__ import annotations

from ._base import save, served, spec
from .charts import bin_pareto, box, box_data, histogram, histogram_data, scatter, trend
from .wafer import lot_maps, stacked_map, wafer_map

__all__ = [
    "bin_pareto",
    "box",
    "box_data",
    "histogram",
    "histogram_data",
    "lot_maps",
    "save",
    "served",
    "spec",
    "scatter",
    "stacked_map",
    "trend",
    "wafer_map",
]
