"""The endpoints: one per analysis of stdf_duck.analysis (its numbers, never computed here), a
test's histogram (the analysis relation binned in SQL), the export, and POST /sql.

An analysis answers `{"columns": [...], "rows": [{column: value}], "truncated": bool}`: at most
`limit` rows (the server's row cap at most); `truncated` says rows were left out. The filters are
query parameters with the analyses' names (product, stage, lot, wafer, site, date_from, date_to,
die_key) and `by` is the grouping (a comma list of lot, wafer, site, product, stage, file,
tester, day, week).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from .. import analysis
from ..archive._sql import sql_literal
from .db import Database, jsonable, records
from .sql_guard import check_sql

TestKey = Literal["number", "name", "number_name"]
DieKey = Literal["xy", "part_id", "none"]
Limit = Annotated[int | None, Query(ge=1, description="At most this many rows (the server's cap at most).")]
By = Annotated[str | None, Query(description="Grouping: comma list of lot, wafer, site, product, stage, file, tester, day, week.")]  # fmt: skip
Scope = Literal["static", "lot", "wafer"]
K = Annotated[float, Query(gt=0, le=1e6, description="PAT limits: median -/+ k robust sigma.")]
Test = Annotated[str, Query(min_length=1, description="A test by its test_key value, e.g. '1000:VDD_LEAK'.")]


class Table(BaseModel):
    """An analysis's rows, as objects keyed by column name."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(description="Rows were left out (limit or the server's row cap).")


class SqlRequest(BaseModel):
    """One query and its parameters ($1 / ? positional, or $name with an object)."""

    sql: str = Field(min_length=1, examples=["SELECT lot_id, count(*) AS n FROM parts GROUP BY ALL"])
    params: list[Any] | dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1, description="At most this many rows (the server's cap at most).")


class TestLimits(BaseModel):
    """What-if limits of one test (None: no limit on that side)."""

    test_key: str = Field(min_length=1)
    lo: float | None = None
    hi: float | None = None


class WhatIf(BaseModel):
    """POST /whatif: the limits to judge the final dice with."""

    limits: list[TestLimits] = Field(min_length=1, max_length=10_000)


class SqlResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class Filters:
    """The analyses' filters, as query parameters."""

    def __init__(
        self,
        product: str | None = None,
        stage: str | None = None,
        lot: str | None = None,
        wafer: str | None = None,
        site: Annotated[int | None, Query(ge=0, le=255)] = None,
        date_from: Annotated[_dt.date | None, Query(description="Files started on or after (YYYY-MM-DD).")] = None,
        date_to: Annotated[_dt.date | None, Query(description="Files started on or before (YYYY-MM-DD).")] = None,
        die_key: DieKey = "xy",
    ) -> None:
        self.values: dict[str, Any] = {
            "product": product, "stage": stage, "lot": lot, "wafer": wafer, "site": site,
            "date_from": date_from, "date_to": date_to, "die_key": die_key,
        }  # fmt: skip

    def kwargs(self, *, site: bool = True) -> dict[str, Any]:
        """The filters given, as keyword arguments of an analysis (`site=False`: without site)."""
        out = {k: v for k, v in self.values.items() if v is not None}
        if not site:
            out.pop("site", None)
        return out


F = Annotated[Filters, Depends()]


def _table(db: Database, fn: Callable[..., Any], limit: int | None, *args: Any, **kw: Any) -> dict[str, Any]:
    with db.source() as src:
        columns, rows, truncated = db.fetch(src.con, fn(src, *args, **kw), limit)
    return {"columns": columns, "rows": records(columns, rows), "truncated": truncated}


def analysis_router(db: Database) -> APIRouter:
    """The JSON endpoints of the analyses, the distribution and the export."""
    r = APIRouter()
    t = _table

    @r.get("/lots", response_model=Table, tags=["yield"], summary="Yield by lot (stdf_yield)")
    def lots(f: F, limit: Limit = None) -> Any:
        return t(db, analysis.yield_, limit, by="lot", **f.kwargs())

    @r.get("/wafers", response_model=Table, tags=["yield"], summary="Yield by wafer (stdf_yield)")
    def wafers(f: F, limit: Limit = None) -> Any:
        return t(db, analysis.yield_, limit, by="wafer", **f.kwargs())

    @r.get("/yield", response_model=Table, tags=["yield"], summary="Yield by any grouping (stdf_yield)")
    def yield_(f: F, by: By = "lot", limit: Limit = None) -> Any:
        return t(db, analysis.yield_, limit, by=by, **f.kwargs())

    @r.get("/sites", response_model=Table, tags=["yield"], summary="Yield per site against the others (stdf_site_yield)")  # fmt: skip
    def sites(f: F, by: By = None, limit: Limit = None) -> Any:
        return t(db, analysis.site_yield, limit, by=by, **f.kwargs(site=False))

    @r.get("/bins", response_model=Table, tags=["bins"], summary="Bin Pareto of the final dice (stdf_bin_pareto)")
    def bins(f: F, by: By = None, bin_type: Literal["H", "S"] | None = None, limit: Limit = None) -> Any:
        return t(db, analysis.bin_pareto, limit, by=by, bin_type=bin_type, **f.kwargs())

    @r.get("/bins/sites", response_model=Table, tags=["bins"], summary="Bin x site (stdf_bin_sites)")
    def bin_sites(f: F, by: By = None, bin_type: Literal["H", "S"] = "H", limit: Limit = None) -> Any:
        return t(db, analysis.bin_sites, limit, by=by, bin_type=bin_type, **f.kwargs(site=False))

    @r.get("/tests", response_model=Table, tags=["tests"], summary="Test statistics with Cp, Cpk (stdf_test_stats)")
    def tests(f: F, by: By = None, test_key: TestKey = "number_name", final_only: bool = True, limit: Limit = None) -> Any:  # fmt: skip
        return t(db, analysis.test_stats, limit, by=by, test_key=test_key, final_only=final_only, **f.kwargs())

    @r.get("/tests/first_fail", response_model=Table, tags=["tests"], summary="First-fail Pareto (stdf_first_fail)")
    def first_fail(f: F, by: By = None, test_key: TestKey = "number_name", limit: Limit = None) -> Any:
        return t(db, analysis.first_fail, limit, by=by, test_key=test_key, **f.kwargs())

    @r.get("/tests/distribution", tags=["tests"], summary="Histogram of one test over the final dice")
    def distribution(
        f: F,
        test: Test,
        test_key: TestKey = "number_name",
        bins: Annotated[int, Query(ge=1, le=1000)] = 20,
        per_site: bool = False,
    ) -> dict[str, Any]:
        return _distribution(db, test, test_key, bins, per_site, f)

    _maps(r, db)
    _pat(r, db)
    _whatif(r, db)
    _export(r, db)
    return r


def _maps(r: APIRouter, db: Database) -> None:
    """Wafer maps, zones, trend and correlation (stdf_duck.analysis.maps)."""
    t = _table

    @r.get("/wafers/map", response_model=Table, tags=["wafers"], summary="One row per final die (stdf_wafer_map)")
    def wafer_map(f: F, test: str | None = None, test_key: TestKey = "number_name", limit: Limit = None) -> Any:
        return t(db, analysis.wafer_map, limit, test=test or None, test_key=test_key, **f.kwargs())

    @r.get("/wafers/info", response_model=Table, tags=["wafers"], summary="WCR geometry and extent per wafer (stdf_wafer_info)")  # fmt: skip
    def wafer_info(f: F, limit: Limit = None) -> Any:
        return t(db, analysis.wafer_info, limit, **f.kwargs(site=False))

    @r.get("/wafers/stacked", response_model=Table, tags=["wafers"], summary="Stacked fail map (stdf_stacked_map)")
    def stacked(f: F, by: By = "lot", limit: Limit = None) -> Any:
        return t(db, analysis.stacked_map, limit, by=by, **f.kwargs())

    @r.get("/wafers/zones", response_model=Table, tags=["wafers"], summary="Yield per zone (stdf_zone_yield)")
    def zones(f: F, by: By = "wafer", limit: Limit = None) -> Any:
        return t(db, analysis.zone_yield, limit, by=by, **f.kwargs())

    @r.get("/wafers/radial", response_model=Table, tags=["wafers"], summary="Yield per ring (stdf_radial)")
    def radial(f: F, by: By = "wafer", n_rings: Annotated[int, Query(ge=1, le=1000)] = 10, limit: Limit = None) -> Any:
        return t(db, analysis.radial, limit, by=by, n_rings=n_rings, **f.kwargs())

    @r.get("/trend", response_model=Table, tags=["trend"], summary="Yield and a test's mean in time order with control limits (stdf_trend)")  # fmt: skip
    def trend(f: F, by: By = "lot", test: str | None = None, test_key: TestKey = "number_name", limit: Limit = None) -> Any:  # fmt: skip
        return t(db, analysis.trend, limit, by=by, test=test or None, test_key=test_key, **f.kwargs())

    @r.get("/correlation", response_model=Table, tags=["trend"], summary="Correlation of two tests (stdf_test_correlation)")  # fmt: skip
    def correlation(f: F, test_a: Test, test_b: Test, by: By = None, test_key: TestKey = "number_name", limit: Limit = None) -> Any:  # fmt: skip
        return t(db, analysis.test_correlation, limit, test_a, test_b, by=by, test_key=test_key, **f.kwargs())


def _pat(r: APIRouter, db: Database) -> None:
    """Part Average Testing (stdf_duck.analysis.pat)."""
    t = _table

    @r.get("/pat/limits", response_model=Table, tags=["pat"], summary="PAT limits per test (stdf_pat_limits)")
    def pat_limits(f: F, scope: Scope = "static", k: K = 6.0, test_key: TestKey = "number_name", limit: Limit = None) -> Any:  # fmt: skip
        return t(db, analysis.pat_limits, limit, scope=scope, k=k, test_key=test_key, **f.kwargs())

    @r.get("/pat/outliers", response_model=Table, tags=["pat"], summary="Results outside their PAT limits (stdf_pat_outliers)")  # fmt: skip
    def pat_outliers(f: F, scope: Scope = "static", k: K = 6.0, test_key: TestKey = "number_name", limit: Limit = None) -> Any:  # fmt: skip
        return t(db, analysis.pat_outliers, limit, scope=scope, k=k, test_key=test_key, **f.kwargs())

    @r.get("/pat/yield", response_model=Table, tags=["pat"], summary="Yield before and after PAT (stdf_pat_yield)")
    def pat_yield(f: F, by: By = "lot", scope: Scope = "static", k: K = 6.0, test_key: TestKey = "number_name", limit: Limit = None) -> Any:  # fmt: skip
        return t(db, analysis.pat_yield, limit, by=by, scope=scope, k=k, test_key=test_key, **f.kwargs())


def _whatif(r: APIRouter, db: Database) -> None:
    """What-if limits (stdf_duck.analysis.whatif, whatif_dice): the limits in a JSON body."""
    t = _table

    @r.post("/whatif", response_model=Table, tags=["pat"], summary="Yield before and after new limits (stdf_whatif)")
    def whatif(body: WhatIf, f: F, by: By = "lot", test_key: TestKey = "number_name", limit: Limit = None) -> Any:
        limits = [x.model_dump() for x in body.limits]
        return t(db, analysis.whatif, limit, limits, by=by, test_key=test_key, **f.kwargs())

    @r.post("/whatif/dice", response_model=Table, tags=["pat"], summary="Every final die judged with new limits (stdf_whatif_dice)")  # fmt: skip
    def whatif_dice(body: WhatIf, f: F, test_key: TestKey = "number_name", limit: Limit = None) -> Any:
        limits = [x.model_dump() for x in body.limits]
        return t(db, analysis.whatif_dice, limit, limits, test_key=test_key, **f.kwargs())


def _distribution(db: Database, test: str, test_key: str, n_bins: int, per_site: bool, f: Filters) -> dict[str, Any]:
    """The test's statistics (stdf_test_stats) and a histogram of its valid finite results over
    the final dice (stdf_test_results) in `n_bins` bins of equal width from its min to its max
    (the last bin holds the max), per site when asked."""
    with db.source() as src:
        filters = f.kwargs()
        key = sql_literal(test)
        stats = analysis.test_stats(src, test_key=test_key, tests=[test], **filters).filter(f"test_key = {key}")
        s_cols, s_rows, _ = db.fetch(src.con, stats, 1000)
        values = analysis.test_results(src, test_key=test_key, tests=[test], **filters)
        site = "head_num, site_num" if per_site else "NULL::UTINYINT AS head_num, NULL::UTINYINT AS site_num"
        hist = values.query(
            "r",
            f"""WITH v AS (SELECT result AS x, {site} FROM r WHERE test_key = {key} AND result_valid AND isfinite(result)),
            e AS (SELECT min(x) AS lo, max(x) AS hi, (max(x) - min(x)) / {n_bins} AS w FROM v),
            b AS (SELECT head_num, site_num,
                         CASE WHEN e.w > 0 THEN least(CAST(floor((x - e.lo) / e.w) AS INTEGER), {n_bins - 1}) ELSE 0 END AS bin,
                         count(*) AS count
                  FROM v, e GROUP BY ALL),
            g AS (SELECT DISTINCT head_num, site_num FROM v)
            SELECT g.head_num, g.site_num, i.bin, e.lo + i.bin * e.w AS bin_lo,
                   CASE WHEN i.bin = {n_bins - 1} THEN e.hi ELSE e.lo + (i.bin + 1) * e.w END AS bin_hi,
                   coalesce(b.count, 0) AS count
            FROM g, e, (SELECT range AS bin FROM range({n_bins})) i
            LEFT JOIN b ON b.bin = i.bin AND b.head_num IS NOT DISTINCT FROM g.head_num
                       AND b.site_num IS NOT DISTINCT FROM g.site_num
            ORDER BY g.head_num, g.site_num, i.bin""",
        )
        h_cols, h_rows, truncated = db.fetch(src.con, hist)
    return {
        "test": test,
        "test_key": test_key,
        "stats": records(s_cols, s_rows),
        "columns": h_cols,
        "rows": records(h_cols, h_rows),
        "truncated": truncated,
    }


def _export(r: APIRouter, db: Database) -> None:
    """GET /export: the test results as CSV or Parquet (stdf_duck.analysis.export), streamed."""

    @r.get(
        "/export",
        tags=["export"],
        summary="Test results as CSV or Parquet, long or pivot (stdf_duck.analysis.export)",
        response_class=FileResponse,
        responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
    )
    def export(
        f: F,
        format: Literal["csv", "parquet"] = "csv",
        shape: Literal["long", "pivot"] = "long",
        test_key: TestKey = "number_name",
        tests: Annotated[list[str] | None, Query(description="Keep these tests (test_key or test number).")] = None,
        all_insertions: bool = False,
    ) -> FileResponse:
        path = db.scratch_path(f".{format}")
        with db.source() as src, db.time_limit(src.con):
            analysis.export(
                src, path, shape, test_key=test_key, tests=tests or None, all_insertions=all_insertions,
                format=format, **f.kwargs(),
            )  # fmt: skip
        media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
        name = f"stdf-{shape}.{format}"
        return FileResponse(path, media_type=media, filename=name, background=BackgroundTask(_remove, path))


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def sql_router(db: Database) -> APIRouter:
    """POST /sql: one checked query, parameters bound, the row cap and the time limit."""
    r = APIRouter()

    @r.post("/sql", response_model=SqlResult, tags=["sql"], summary="One read-only query on the archive's views and macros")  # fmt: skip
    def sql(body: SqlRequest) -> Any:
        cap = db.max_rows if body.limit is None else min(body.limit, db.max_rows)
        with db.cursor() as cur:
            check_sql(cur, body.sql, db.macros)
            raw = cur.connection
            with db.time_limit(cur):
                raw.execute(body.sql, body.params) if body.params is not None else raw.execute(body.sql)
                columns = [d[0] for d in raw.description or []]
                rows = raw.fetchmany(cap + 1)
        return {
            "columns": columns,
            "rows": [[jsonable(x) for x in row] for row in rows[:cap]],
            "truncated": len(rows) > cap,
        }

    return r
