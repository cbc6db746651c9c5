"""stdf_duck.analysis: yield, bins, test statistics, consolidation, wafer maps, trends, PAT and
export data, on STDF files or on an archive.

The numbers come from the SQL macros of the repository's `sql/analysis/` (the single source of
truth, also available in SQL on every `stdf_duck.connect()` connection, inside an archive's
`archive.duckdb` and in the DuckDB CLI after `LOAD` of the extension); these functions only call
them and return DuckDB relations::

    from stdf_duck import analysis
    with analysis.Source("arch/") as src:          # or Source(["lot1/*.stdf", "retest/*.stdf"])
        print(analysis.yield_(src, by=["lot", "wafer"]).df())
        analysis.test_stats(src, lot="L1").pl()
"""

from __future__ import annotations

from .reports import (
    GROUPS,
    KEY_COLUMNS,
    bin_pareto,
    bin_sites,
    dice,
    first_fail,
    insertions,
    run,
    site_yield,
    test_results,
    test_stats,
    yield_,
)
from .source import SOURCE_TABLES, Source, is_archive

__all__ = [
    "GROUPS",
    "KEY_COLUMNS",
    "SOURCE_TABLES",
    "Source",
    "bin_pareto",
    "bin_sites",
    "dice",
    "first_fail",
    "insertions",
    "is_archive",
    "run",
    "site_yield",
    "test_results",
    "test_stats",
    "yield_",
]

# wafer maps, trends, correlations (sql/analysis/60_wafer.sql, 70_trend.sql), PAT and what-if (80_pat.sql)
from .maps import (  # noqa: E402
    radial,
    stacked_map,
    stage_pairs,
    test_correlation,
    test_pairs,
    test_values,
    trend,
    wafer_info,
    wafer_map,
    zone_yield,
)
from .pat import limits_list, pat_limits, pat_outliers, pat_yield, whatif, whatif_dice  # noqa: E402

__all__ += [
    "limits_list",
    "pat_limits",
    "pat_outliers",
    "pat_yield",
    "radial",
    "stacked_map",
    "stage_pairs",
    "test_correlation",
    "test_pairs",
    "test_values",
    "trend",
    "wafer_info",
    "wafer_map",
    "whatif",
    "whatif_dice",
    "zone_yield",
]
from .export import ExportResult, TestColumn, export  # noqa: E402

__all__ += ["ExportResult", "TestColumn", "export"]
