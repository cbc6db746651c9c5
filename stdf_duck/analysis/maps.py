"""Wafer maps, trends and correlations: one Python function per SQL macro of
sql/analysis/60_wafer.sql and 70_trend.sql, same names without the `stdf_` prefix.

Each takes a source (files, globs, an archive folder or an open `Source`), the filters
(product, stage, lot, wafer, site, date_from, date_to, die_key) and, where the macro groups,
`by` (see `reports.GROUPS`), and returns a DuckDB relation. A test is named by its `test_key`
value under the `test_key` policy ('number', 'name' or 'number_name', e.g. '1000:VDD_LEAK').
"""

from __future__ import annotations

from typing import Any

from .._duck import StdfRelation
from .reports import By, _filters, run

MATCHES = ("part_id", "part_txt", "xy")


def test_values(
    source: Any, tests: list[str] | None = None, *, test_key: str = "number_name", **filters: Any
) -> StdfRelation:
    """One value per final die and test: its first valid finite result (stdf_test_values), for the
    test_key values in `tests` (None: every test)."""
    return run("test_values", source, keys=False, tests=tests, test_key=test_key, **_filters(filters))


def wafer_info(source: Any, **filters: Any) -> StdfRelation:
    """Per wafer: WCR geometry (flat/notch, centre, positive directions, die size, wafer size),
    the extent of its dice, dice, good, yield (stdf_wafer_info)."""
    f = _filters(filters)
    if f.pop("site", None) is not None:
        raise TypeError("wafer_info describes whole wafers: no site filter")
    return run("wafer_info", source, keys=False, **f)


def wafer_map(source: Any, *, test: str | None = None, test_key: str = "number_name", **filters: Any) -> StdfRelation:
    """One row per final die: x, y, bins, names, P/F, passed and the value of `test` when given
    (stdf_wafer_map). Filter with lot= and wafer= for one wafer."""
    return run("wafer_map", source, keys=False, test=test, test_key=test_key, **_filters(filters))


def stacked_map(source: Any, by: By = "lot", **filters: Any) -> StdfRelation:
    """Per (x, y) across the wafers of each group: n_wafers, n_dice, n_pass, n_fail, fail_rate
    (stdf_stacked_map)."""
    return run("stacked_map", source, by, **_filters(filters))


def zone_yield(source: Any, by: By = "wafer", **filters: Any) -> StdfRelation:
    """Yield per zone center/middle/edge (thirds of each wafer's largest normalized radius,
    stdf_zone_yield)."""
    return run("zone_yield", source, by, **_filters(filters))


def radial(source: Any, by: By = "wafer", *, n_rings: int = 10, **filters: Any) -> StdfRelation:
    """Yield per ring of equal width in normalized radius (stdf_radial)."""
    if n_rings < 1:
        raise ValueError("n_rings must be at least 1")
    return run("radial", source, by, n_rings=int(n_rings), **_filters(filters))


def trend(
    source: Any, by: By = "lot", *, test: str | None = None, test_key: str = "number_name", **filters: Any
) -> StdfRelation:
    """Per group in time order: dice, good, yield, and n, mean, stddev of `test`, with I-MR
    control limits and out_of_control flags (stdf_trend)."""
    return run("trend", source, by, test=test, test_key=test_key, **_filters(filters))


def test_pairs(source: Any, test_a: str, test_b: str, *, test_key: str = "number_name", **filters: Any) -> StdfRelation:
    """Per final die with a value of both tests: identity, passed, value_a, value_b
    (stdf_test_pairs)."""
    return run("test_pairs", source, keys=False, test_a=test_a, test_b=test_b, test_key=test_key, **_filters(filters))


def test_correlation(
    source: Any, test_a: str, test_b: str, by: By = None, *, test_key: str = "number_name", **filters: Any
) -> StdfRelation:
    """n, pearson r, r2, slope and intercept of value_b on value_a per group
    (stdf_test_correlation)."""
    return run("test_correlation", source, by, test_a=test_a, test_b=test_b, test_key=test_key, **_filters(filters))


def stage_pairs(
    source: Any,
    stage_a: str,
    stage_b: str,
    *,
    match: str = "part_id",
    test: str | None = None,
    test_key: str = "number_name",
    **filters: Any,
) -> StdfRelation:
    """The dice of two stages matched by part_id (within a lot), part_txt or (lot, wafer, x, y):
    in_a, in_b, each stage's bins and pass, and `test`'s value at both (stdf_stage_pairs)."""
    if match not in MATCHES:
        raise ValueError(f"match must be one of {', '.join(MATCHES)}, not {match!r}")
    f = _filters(filters)
    for name in ("stage", "site"):
        if f.pop(name, None) is not None:
            raise TypeError(f"stage_pairs takes stage_a and stage_b: no {name} filter")
    return run(
        "stage_pairs", source, keys=False, stage_a=stage_a, stage_b=stage_b, match=match, test=test,
        test_key=test_key, **f,
    )  # fmt: skip


__all__ = [
    "MATCHES",
    "radial",
    "stacked_map",
    "stage_pairs",
    "test_correlation",
    "test_pairs",
    "test_values",
    "trend",
    "wafer_info",
    "wafer_map",
    "zone_yield",
]
