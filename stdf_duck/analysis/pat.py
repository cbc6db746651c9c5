"""Part Average Testing (AEC-Q001) and what-if limits: one Python function per SQL macro of
sql/analysis/80_pat.sql, same names without the `stdf_` prefix.

PAT limits are median -/+ k robust sigma (robust sigma = IQR / 1.349) of the passing final dice's
valid results, per test over the whole population (`scope='static'`) or per lot / wafer
(dynamic), clamped into the test limits. What-if re-judges the final dice with the limits given
for some tests (see stdf_whatif_judged for the exact rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from .._duck import StdfRelation
from .reports import By, _filters, run

SCOPES = ("static", "lot", "wafer")

#: what-if limits: {test_key: (lo, hi)} or [{'test_key': ..., 'lo': ..., 'hi': ...}]; None = no limit
Limits = Mapping[str, tuple[float | None, float | None]] | Iterable[Mapping[str, Any]]


def _scope(scope: str, k: float) -> dict[str, Any]:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if not (isinstance(k, (int, float)) and math.isfinite(k) and k > 0):
        raise ValueError(f"k must be a positive number, not {k!r}")
    return {"scope": scope, "k": float(k)}


def pat_limits(
    source: Any, *, scope: str = "static", k: float = 6.0, test_key: str = "number_name", **filters: Any
) -> StdfRelation:
    """Per test (and lot/wafer when dynamic): n, median, q1, q3, robust_sigma, pat_lo, pat_hi
    (stdf_pat_limits)."""
    return run("pat_limits", source, keys=False, **_scope(scope, k), test_key=test_key, **_filters(filters))


def pat_outliers(
    source: Any, *, scope: str = "static", k: float = 6.0, test_key: str = "number_name", **filters: Any
) -> StdfRelation:
    """The results of passing final dice outside their PAT limits: die, test, value, side, limits
    (stdf_pat_outliers)."""
    return run("pat_outliers", source, keys=False, **_scope(scope, k), test_key=test_key, **_filters(filters))


def pat_yield(
    source: Any,
    by: By = "lot",
    *,
    scope: str = "static",
    k: float = 6.0,
    test_key: str = "number_name",
    **filters: Any,
) -> StdfRelation:
    """dice, good, pat_outliers, good_after_pat, yield, yield_after_pat per group
    (stdf_pat_yield)."""
    return run("pat_yield", source, by, **_scope(scope, k), test_key=test_key, **_filters(filters))


def limits_list(limits: Limits) -> list[dict[str, Any]]:
    """The `limits` argument of stdf_whatif: a list of {'test_key', 'lo', 'hi'} (numbers as
    floats, None for no limit); at least one test."""
    items: list[dict[str, Any]] = []
    if isinstance(limits, Mapping):
        for key, pair in limits.items():
            lo, hi = pair
            items.append({"test_key": key, "lo": lo, "hi": hi})
    else:
        for m in limits:
            unknown = set(m) - {"test_key", "lo", "hi"}
            if unknown or "test_key" not in m:
                raise ValueError(f"a limit is {{'test_key': ..., 'lo': ..., 'hi': ...}}, not {dict(m)!r}")
            items.append({"test_key": m["test_key"], "lo": m.get("lo"), "hi": m.get("hi")})
    if not items:
        raise ValueError("what-if needs the limits of at least one test")
    for it in items:
        it["test_key"] = str(it["test_key"])
        for side in ("lo", "hi"):
            v = it[side]
            if v is not None:
                v = float(v)
                if math.isnan(v):
                    raise ValueError(f"{side} limit of {it['test_key']!r} is NaN: use None for no limit")
                it[side] = v
        if it["lo"] is not None and it["hi"] is not None and it["lo"] > it["hi"]:
            raise ValueError(f"lo > hi for {it['test_key']!r}")
    return items


def whatif(
    source: Any, limits: Limits, by: By = "lot", *, test_key: str = "number_name", **filters: Any
) -> StdfRelation:
    """Yield before and after re-judging with `limits`, pass->fail and fail->pass counts
    (stdf_whatif)."""
    return run("whatif", source, by, limits=limits_list(limits), test_key=test_key, **_filters(filters))


def whatif_dice(source: Any, limits: Limits, *, test_key: str = "number_name", **filters: Any) -> StdfRelation:
    """Every final die re-judged with `limits`: passed, passed_after, change (stdf_whatif_dice)."""
    return run("whatif_dice", source, keys=False, limits=limits_list(limits), test_key=test_key, **_filters(filters))


__all__ = ["SCOPES", "Limits", "limits_list", "pat_limits", "pat_outliers", "pat_yield", "whatif", "whatif_dice"]
