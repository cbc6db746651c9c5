"""The analyses of sql/analysis/, one Python function per SQL macro, same names without the
`stdf_` prefix (`yield_` for `stdf_yield`: `yield` is a Python keyword).

Each takes a source (files, globs, an archive folder or an open `Source`), `by` (the grouping:
a name or a list of 'product', 'stage', 'lot', 'wafer', 'site', 'file', 'tester', 'day',
'week'), the filters (product, stage, lot, wafer, site, date_from, date_to) and returns a DuckDB
relation (`.df()`, `.pl()`, `.arrow()`, `.fetchall()`, or more SQL on it). The key columns of
the groupings not asked, which the SQL returns as NULL, are left out.

A relation reads its source when it is fetched: keep the `Source` open until then. Passing a
path instead of a `Source` opens one whose connection lives as long as the relation holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._duck import StdfRelation
from .source import Source, as_source, literal

#: grouping name -> the key columns it fills (in the order the SQL returns them)
GROUPS: dict[str, tuple[str, ...]] = {
    "product": ("part_typ",),
    "stage": ("test_stage",),
    "lot": ("lot_id",),
    "wafer": ("lot_id", "wafer_id"),
    "site": ("head_num", "site_num"),
    "file": ("file_path",),
    "tester": ("node_nam",),
    "day": ("day",),
    "week": ("week",),
}
KEY_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for cols in GROUPS.values() for c in cols))
TEST_KEYS = ("number", "name", "number_name")
DIE_KEYS = ("xy", "part_id", "none")

By = str | Sequence[str] | None


def _by(by: By) -> list[str]:
    if by is None:
        return []
    items = [by] if isinstance(by, str) else list(by)
    out: list[str] = []
    for b in items:
        for part in str(b).split(","):
            part = part.strip()
            if not part:
                continue
            if part not in GROUPS:
                raise ValueError(f"unknown grouping {part!r}: choose from {', '.join(GROUPS)}")
            if part not in out:
                out.append(part)
    return out


def run(
    macro: str,
    source: Any,
    by: By = None,
    *,
    keys: bool = True,
    **params: Any,
) -> StdfRelation:
    """`FROM stdf_<macro>(...)` on `source` with `params` (None values left to the macro's
    defaults) and `by` as its `per` list; key columns of groupings not asked are dropped when
    `keys` (the macros that return key columns)."""
    src, _owned = as_source(source)  # an opened Source lives as long as the relation (its connection)
    groups = _by(by)
    args = {"per": groups} if keys else {}
    for k, v in params.items():
        if v is None:
            continue
        if k == "test_key" and v not in TEST_KEYS:
            raise ValueError(f"test_key must be one of {', '.join(TEST_KEYS)}, not {v!r}")
        if k == "die_key" and v not in DIE_KEYS:
            raise ValueError(f"die_key must be one of {', '.join(DIE_KEYS)}, not {v!r}")
        args[k] = v
    call = ", ".join(f"{k} := {literal(v)}" for k, v in args.items())
    sql = f"FROM stdf_{macro}({call})"
    if keys:
        asked = {c for g in groups for c in GROUPS[g]}
        drop = [c for c in KEY_COLUMNS if c not in asked]
        if drop:
            sql = f"SELECT * EXCLUDE ({', '.join(drop)}) FROM stdf_{macro}({call})"
    return src.sql(sql)


def insertions(
    source: Any,
    by: By = None,
    *,
    die_key: str = "xy",
    product: str | None = None,
    stage: str | None = None,
    lot: str | None = None,
    wafer: str | None = None,
    date_from: Any = None,
    date_to: Any = None,
) -> StdfRelation:
    """Every insertion of every die across files (consolidation): the part's columns plus
    `insertion`, `n_insertions`, `is_final_lot`, `first_pass_passed` (stdf_insertions)."""
    return run(
        "insertions", source, by, keys=False, per=_by(by), die_key=die_key, product=product, stage=stage,
        lot=lot, wafer=wafer, date_from=date_from, date_to=date_to,
    )  # fmt: skip


def dice(
    source: Any,
    by: By = None,
    *,
    die_key: str = "xy",
    product: str | None = None,
    stage: str | None = None,
    lot: str | None = None,
    wafer: str | None = None,
    date_from: Any = None,
    date_to: Any = None,
) -> StdfRelation:
    """The final insertion of each die (stdf_dice)."""
    return run(
        "dice", source, by, keys=False, per=_by(by), die_key=die_key, product=product, stage=stage, lot=lot,
        wafer=wafer, date_from=date_from, date_to=date_to,
    )  # fmt: skip


def _filters(kw: dict[str, Any]) -> dict[str, Any]:
    allowed = {"die_key", "product", "stage", "lot", "wafer", "site", "date_from", "date_to"}
    unknown = set(kw) - allowed
    if unknown:
        raise TypeError(f"unknown filter {', '.join(sorted(unknown))}: use {', '.join(sorted(allowed))}")
    return kw


def yield_(source: Any, by: By = "lot", **filters: Any) -> StdfRelation:
    """Insertions, dice, good, yield, first-pass yield and retest recovery (stdf_yield)."""
    return run("yield", source, by, **_filters(filters))


def site_yield(source: Any, by: By = None, **filters: Any) -> StdfRelation:
    """Yield per site with the other sites' yield and the deviation (stdf_site_yield)."""
    f = _filters(filters)
    if f.pop("site", None) is not None:
        raise TypeError("site_yield compares every site: no site filter")
    rel = run("site_yield", source, [*_by(by), "site"], **f)
    return rel


def bin_pareto(source: Any, by: By = None, *, bin_type: str | None = None, **filters: Any) -> StdfRelation:
    """Hard and soft bin Pareto of the final dice (stdf_bin_pareto); bin_type 'H' or 'S'."""
    return run("bin_pareto", source, by, bin_type=_bin_type(bin_type), **_filters(filters))


def bin_sites(source: Any, by: By = None, *, bin_type: str = "H", **filters: Any) -> StdfRelation:
    """Bin x site with each site's deviation from the others (stdf_bin_sites)."""
    f = _filters(filters)
    if f.pop("site", None) is not None:
        raise TypeError("bin_sites compares every site: no site filter")
    return run("bin_sites", source, [*_by(by), "site"], bin_type=_bin_type(bin_type), **f)


def test_stats(
    source: Any,
    by: By = None,
    *,
    test_key: str = "number_name",
    final_only: bool = True,
    tests: Sequence[str] | None = None,
    **filters: Any,
) -> StdfRelation:
    """Per test n, mean, stddev, min, max, p1/p50/p99, limits, Cp, Cpk, fails (stdf_test_stats);
    `tests`: of these test_key values only."""
    return run(
        "test_stats", source, by, test_key=test_key, final_only=final_only, tests=_tests(tests), **_filters(filters)
    )


def test_results(
    source: Any,
    by: By = None,
    *,
    test_key: str = "number_name",
    final_only: bool = True,
    tests: Sequence[str] | None = None,
    **filters: Any,
) -> StdfRelation:
    """Every result of the final dice with the die's columns and the test_key (stdf_test_results);
    `tests`: of these test_key values only (read from the row groups of their numbers)."""
    return run(
        "test_results", source, by, keys=False, per=_by(by), test_key=test_key, final_only=final_only,
        tests=_tests(tests), **_filters(filters),
    )  # fmt: skip


def _tests(tests: Sequence[str] | None) -> list[str] | None:
    """A list of test_key values for the macros (None: every test)."""
    if tests is None:
        return None
    if isinstance(tests, str):
        return [tests]
    return [str(t) for t in tests]


def first_fail(source: Any, by: By = None, *, test_key: str = "number_name", **filters: Any) -> StdfRelation:
    """The first failing test of each failing final die, as a Pareto (stdf_first_fail)."""
    return run("first_fail", source, by, test_key=test_key, **_filters(filters))


def _bin_type(v: str | None) -> str | None:
    if v is None:
        return None
    v = v.upper()[:1]
    if v not in ("H", "S"):
        raise ValueError("bin_type must be 'H' (hard) or 'S' (soft)")
    return v


__all__ = [
    "GROUPS",
    "KEY_COLUMNS",
    "Source",
    "bin_pareto",
    "bin_sites",
    "dice",
    "first_fail",
    "insertions",
    "run",
    "site_yield",
    "test_results",
    "test_stats",
    "yield_",
]
