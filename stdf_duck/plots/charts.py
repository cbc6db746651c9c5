"""Bin Pareto, histogram with limits, box plot per group, trend with control limits, and
test-vs-test scatter. The numbers are the analysis layer's (stdf_bin_pareto, stdf_test_results,
stdf_test_stats, stdf_trend, stdf_test_pairs, stdf_test_correlation); what is computed here, in
DuckDB, is only what drawing needs: histogram bins, box quantiles, 2-D bins of a large scatter.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt

from .. import analysis
from ._base import PASS_FAIL, Figure, bin_colors, bin_label, data, frozen, group_column, lit, opened, sql_on, values

_LIMIT_COLORS = {"LO": "#d62728", "HI": "#d62728"}


def _test_meta(src: Any, test: str, test_key: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The test's name, units and limits (stdf_test_stats: the most frequent limits; an MPR's first pin)."""
    stats = analysis.test_stats(src, test_key=test_key, tests=[test], **filters)
    rows = values(
        sql_on(
            stats,
            f"SELECT test_name, units, lo_limit, hi_limit, n FROM t WHERE test_key = {lit(test)} "
            "ORDER BY pin_index NULLS FIRST LIMIT 1",
        )
    )
    if not rows:
        raise ValueError(f"no test {test!r} in the selection (test_key values as in `stdf-duck report tests`)")
    return rows[0]


def _values_sql(test: str, gcol: str | None) -> str:
    grp = f"CAST({gcol} AS VARCHAR)" if gcol else "NULL::VARCHAR"
    return (
        f"SELECT {grp} AS grp, CAST(result AS DOUBLE) AS v FROM t "
        f"WHERE test_key = {lit(test)} AND result_valid AND isfinite(result)"
    )


def _limits_in_view(meta: dict[str, Any], lo: float, hi: float) -> list[dict[str, Any]]:
    """The limits to draw: those within two spans of the data (a 1e30 'no limit' is not drawn)."""
    span = max(hi - lo, abs(hi) * 1e-6, 1e-30)
    out = []
    for name, col in (("LO", "lo_limit"), ("HI", "hi_limit")):
        v = meta.get(col)
        if v is not None and lo - 2 * span <= v <= hi + 2 * span:
            out.append({"limit": name, "value": float(v)})
    return out


def histogram_data(
    source: Any, test: str, *, by: str | None = None, bins: int = 40, test_key: str = "number_name", **filters: Any
) -> dict[str, Any]:
    """The histogram of `test`'s valid finite results over the final dice (stdf_test_results),
    binned in DuckDB: {"bins": [{grp, i, bin_lo, bin_hi, count}], "meta": name, units, limits,
    "limits": the limits inside the drawn range}. The range spans the data and the limits near it."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    gcol = group_column(by)
    with (
        opened(source) as src,
        frozen(
            src, sql_on(analysis.test_results(src, test_key=test_key, tests=[test], **filters), _values_sql(test, gcol))
        ) as vals,
    ):
        meta = _test_meta(src, test, test_key, filters)
        row = vals.aggregate("min(v), max(v), count(*)").fetchall()[0]
        if row is None or not row[2]:
            return {"bins": [], "meta": meta, "limits": []}
        vmin, vmax = float(row[0]), float(row[1])
        limits = _limits_in_view(meta, vmin, vmax)
        a = min([vmin, *(x["value"] for x in limits)])
        b = max([vmax, *(x["value"] for x in limits)])
        if b <= a:
            a, b = a - 0.5, a + 0.5
        w = (b - a) / bins
        rows = values(
            sql_on(
                vals,
                f"SELECT grp, CAST(least(greatest(floor((v - {a!r}) / {w!r}), 0), {bins - 1}) AS INTEGER) AS i, "
                "count(*) AS count FROM t GROUP BY ALL ORDER BY grp NULLS FIRST, i",
            )
        )
    for r in rows:
        r["bin_lo"], r["bin_hi"], r["zero"] = a + r["i"] * w, a + (r["i"] + 1) * w, 0
    return {"bins": rows, "meta": meta, "limits": limits}


def _limit_rules(limits: list[dict[str, Any]], axis: str) -> list[alt.Chart]:
    if not limits:
        return []
    base = alt.Chart(data(values=limits))
    enc = {axis: alt.X("value:Q") if axis == "x" else alt.Y("value:Q")}
    rule = base.mark_rule(color="#d62728", strokeDash=[6, 3], strokeWidth=2).encode(
        **enc, tooltip=["limit:N", "value:Q"]
    )
    if axis == "x":
        text = base.mark_text(align="left", dx=3, dy=-4, color="#d62728", baseline="top").encode(
            x="value:Q", y=alt.value(0), text="limit:N"
        )
    else:
        text = base.mark_text(align="left", dy=-6, color="#d62728").encode(y="value:Q", x=alt.value(2), text="limit:N")
    return [rule, text]


def _num(v: Any) -> str:
    return "none" if v is None else f"{v:.6g}"


def _test_title(test: str, meta: dict[str, Any]) -> str:
    name = meta.get("test_name")
    return test if not name or name in test else f"{test} ({name})"


def histogram(
    source: Any, test: str, *, by: str | None = None, bins: int = 40, test_key: str = "number_name",
    width: int = 560, height: int = 300, **filters: Any,
) -> Figure:  # fmt: skip
    """The histogram of a test with its lo/hi limits as dashed rules; `by` ("site", "wafer",
    "lot", ...) overlays one translucent histogram per group."""
    hist = histogram_data(source, test, by=by, bins=bins, test_key=test_key, **filters)
    meta = hist["meta"]
    units = meta.get("units") or ""
    color: Any = alt.Color("grp:N", title=by) if by else alt.value("#4c78a8")
    bars = (
        alt.Chart(data(values=hist["bins"]))
        .mark_bar(opacity=0.55 if by else 0.9, binSpacing=0)
        .encode(
            x=alt.X("bin_lo:Q", title=f"{test} [{units}]" if units else test, scale=alt.Scale(zero=False)),
            x2="bin_hi:Q",
            y=alt.Y("count:Q", title="results", stack=None),
            y2="zero:Q",
            color=color,
            tooltip=["grp:N", "bin_lo:Q", "bin_hi:Q", "count:Q"],
        )
    )
    n = sum(r["count"] for r in hist["bins"])
    sub = f"{n} results | LO {_num(meta.get('lo_limit'))} | HI {_num(meta.get('hi_limit'))}"
    return alt.layer(bars, *_limit_rules(hist["limits"], "x")).properties(
        width=width, height=height, title=alt.TitleParams(_test_title(test, meta), subtitle=[sub], anchor="start")
    )


def box_data(
    source: Any, test: str, *, by: str = "site", test_key: str = "number_name", max_outliers: int = 2000, **filters: Any
) -> dict[str, Any]:
    """Per group of `by`: n, min, q1, median, q3, max, the Tukey whiskers (the farthest values
    within 1.5 IQR of the quartiles) and the count of values beyond them, computed in DuckDB over
    the valid finite results (stdf_test_results); at most `max_outliers` outlier values."""
    gcol = group_column(by)
    with (
        opened(source) as src,
        frozen(
            src, sql_on(analysis.test_results(src, test_key=test_key, tests=[test], **filters), _values_sql(test, gcol))
        ) as vals,
    ):
        meta = _test_meta(src, test, test_key, filters)
        q = (
            "WITH q AS (SELECT grp, count(*) AS n, min(v) AS min, quantile_cont(v, 0.25) AS q1, median(v) AS median, "
            "quantile_cont(v, 0.75) AS q3, max(v) AS max FROM t GROUP BY grp) "
        )
        boxes = values(
            sql_on(
                vals,
                q
                + ", w AS (SELECT t.grp AS g, min(t.v) FILTER (WHERE t.v >= q.q1 - 1.5 * (q.q3 - q.q1)) AS whisker_lo, "
                "max(t.v) FILTER (WHERE t.v <= q.q3 + 1.5 * (q.q3 - q.q1)) AS whisker_hi, "
                "count(*) FILTER (WHERE t.v < q.q1 - 1.5 * (q.q3 - q.q1) OR t.v > q.q3 + 1.5 * (q.q3 - q.q1)) AS outliers "
                "FROM t JOIN q ON t.grp IS NOT DISTINCT FROM q.grp GROUP BY t.grp, q.q1, q.q3) "
                "SELECT q.*, w.whisker_lo, w.whisker_hi, w.outliers FROM q JOIN w ON w.g IS NOT DISTINCT FROM q.grp "
                "ORDER BY TRY_CAST(q.grp AS BIGINT), q.grp",
            )
        )
        outliers = values(
            sql_on(
                vals,
                q + "SELECT t.grp, t.v FROM t JOIN q ON t.grp IS NOT DISTINCT FROM q.grp "
                f"WHERE t.v < q.q1 - 1.5 * (q.q3 - q.q1) OR t.v > q.q3 + 1.5 * (q.q3 - q.q1) LIMIT {int(max_outliers)}",
            )
        )
    lo = min((b["min"] for b in boxes), default=0.0)
    hi = max((b["max"] for b in boxes), default=0.0)
    return {"boxes": boxes, "outliers": outliers, "meta": meta, "limits": _limits_in_view(meta, lo, hi)}


def box(
    source: Any, test: str, *, by: str = "site", test_key: str = "number_name", width: int = 480, height: int = 320,
    **filters: Any,
) -> Figure:  # fmt: skip
    """Box plot of a test per group of `by` (default per site): box q1..q3, median tick,
    whiskers, outliers as points, the limits as dashed rules."""
    bd = box_data(source, test, by=by, test_key=test_key, **filters)
    meta = bd["meta"]
    units = meta.get("units") or ""
    order = [b["grp"] for b in bd["boxes"]]
    x = alt.X("grp:N", title=by, sort=order)
    yt = f"{test} [{units}]" if units else test
    base = alt.Chart(data(values=bd["boxes"]))
    whisker = base.mark_rule(color="#333333").encode(
        x=x, y=alt.Y("whisker_lo:Q", title=yt, scale=alt.Scale(zero=False)), y2="whisker_hi:Q"
    )
    tip = ["grp:N", "n:Q", "q1:Q", "median:Q", "q3:Q", "whisker_lo:Q", "whisker_hi:Q", "outliers:Q"]
    body = base.mark_bar(size=28, color="#4c78a8", opacity=0.8).encode(x=x, y="q1:Q", y2="q3:Q", tooltip=tip)
    median = base.mark_tick(color="white", size=28, thickness=2).encode(x=x, y="median:Q")
    points = (
        alt.Chart(data(values=bd["outliers"]))
        .mark_point(color="#333333", size=16)
        .encode(x=x, y="v:Q", tooltip=["grp:N", "v:Q"])
    )
    return alt.layer(whisker, body, median, points, *_limit_rules(bd["limits"], "y")).properties(
        width=width,
        height=height,
        title=alt.TitleParams(_test_title(test, meta), subtitle=[f"per {by}"], anchor="start"),
    )


def trend(
    source: Any, *, test: str | None = None, by: Any = "lot", test_key: str = "number_name", width: int = 560,
    height: int = 300, **filters: Any,
) -> Figure:  # fmt: skip
    """The trend of the groups of `by` in time order (stdf_trend): the mean of `test` (or the
    yield without one) with its I-MR control limits: centre line, LCL and UCL (centre -/+ 3
    sigma); points out of control in red."""
    with opened(source) as src:
        rows = values(analysis.trend(src, by, test=test, test_key=test_key, **filters))
    stat = "mean" if test else "yield"
    keys = [c for c in analysis.KEY_COLUMNS if rows and c in rows[0]]
    for r in rows:
        r["group"] = "/".join(str(r[c]) for c in keys if r[c] is not None) or f"#{r['seq']}"
        r["ooc"] = "out of control" if r[f"{stat}_ooc"] else "in control"
    rows = [r for r in rows if r[stat] is not None]
    order = [r["group"] for r in rows]
    x = alt.X("group:N", sort=order, title=" / ".join(keys) or "group", axis=alt.Axis(labelAngle=-45, labelLimit=120))
    ytitle = f"mean of {test}" if test else "yield"
    base = alt.Chart(data(values=rows))
    yaxis = alt.Axis(format=".1%") if stat == "yield" else alt.Axis()
    line = base.mark_line(color="#4c78a8").encode(
        x=x, y=alt.Y(f"{stat}:Q", title=ytitle, scale=alt.Scale(zero=False), axis=yaxis)
    )
    pts = base.mark_point(filled=True, size=50).encode(
        x=x, y=f"{stat}:Q",
        color=alt.Color("ooc:N", scale=alt.Scale(domain=["in control", "out of control"], range=["#4c78a8", "#d62728"]), title=None),
        tooltip=["group:N", "seq:Q", f"{stat}:Q", "dice:Q", "n:Q"],
    )  # fmt: skip
    layers: list[Any] = [line, pts]
    first = rows[0] if rows else {}
    limits = [
        {"line": name, "value": first.get(f"{stat}_{col}")}
        for name, col in (("UCL", "ucl"), ("CL", "cl"), ("LCL", "lcl"))
        if first.get(f"{stat}_{col}") is not None
    ]
    if limits:
        lb = alt.Chart(data(values=limits))
        layers.append(
            lb.mark_rule(strokeDash=[6, 3]).encode(
                y="value:Q", color=alt.value("#2ca02c"), tooltip=["line:N", "value:Q"],
                strokeDash=alt.condition("datum.line == 'CL'", alt.value([1, 0]), alt.value([6, 3])),
            )
        )  # fmt: skip
        layers.append(
            lb.mark_text(align="right", dy=-6, color="#2ca02c").encode(y="value:Q", x=alt.value(width), text="line:N")
        )
    return alt.layer(*layers).properties(
        width=width, height=height, title=alt.TitleParams(f"{ytitle} by {' / '.join(keys) or 'group'}", subtitle=["I-MR limits: centre +/- 3 sigma"], anchor="start")
    )  # fmt: skip


def scatter(
    source: Any, test_a: str, test_b: str, *, test_key: str = "number_name", max_points: int = 5000, bins: int = 60,
    width: int = 420, height: int = 420, **filters: Any,
) -> Figure:  # fmt: skip
    """Test vs test over the same final dice (stdf_test_pairs): one point per die coloured pass
    or fail up to `max_points` dice, else a 2-D histogram (bins x bins, counted in DuckDB); the
    least-squares line and r of stdf_test_correlation."""
    with opened(source) as src:
        pairs = analysis.test_pairs(src, test_a, test_b, test_key=test_key, **filters)
        ext = pairs.aggregate("count(*), min(value_a), max(value_a), min(value_b), max(value_b)").fetchall()[0]
        n = int(ext[0]) if ext else 0
        if n == 0:
            raise ValueError(f"no die has values of both {test_a!r} and {test_b!r}")
        corr = values(analysis.test_correlation(src, test_a, test_b, test_key=test_key, **filters))
        if n <= max_points:
            rows = values(
                sql_on(pairs, "SELECT value_a, value_b, CASE WHEN passed THEN 'pass' ELSE 'fail' END AS pf, site_num, x_coord, y_coord, part_id FROM t")
            )  # fmt: skip
        else:
            wa = (ext[2] - ext[1]) / bins or 1.0
            wb = (ext[4] - ext[3]) / bins or 1.0
            rows = values(
                sql_on(
                    pairs,
                    f"SELECT least(floor((value_a - {ext[1]!r}) / {wa!r}), {bins - 1}) AS ia, "
                    f"least(floor((value_b - {ext[3]!r}) / {wb!r}), {bins - 1}) AS ib, count(*) AS count FROM t GROUP BY ALL",
                )
            )
            for r in rows:
                r["a0"], r["a1"] = ext[1] + r["ia"] * wa, ext[1] + (r["ia"] + 1) * wa
                r["b0"], r["b1"] = ext[3] + r["ib"] * wb, ext[3] + (r["ib"] + 1) * wb
    xs, ys = alt.Scale(zero=False), alt.Scale(zero=False)
    if n <= max_points:
        body = (
            alt.Chart(data(values=rows))
            .mark_circle(size=18, opacity=0.7)
            .encode(
                x=alt.X("value_a:Q", title=test_a, scale=xs), y=alt.Y("value_b:Q", title=test_b, scale=ys),
                color=alt.Color("pf:N", scale=alt.Scale(domain=list(PASS_FAIL), range=list(PASS_FAIL.values())), title="die"),
                tooltip=["value_a:Q", "value_b:Q", "pf:N", "site_num:Q", "x_coord:Q", "y_coord:Q", "part_id:N"],
            )
        )  # fmt: skip
    else:
        body = (
            alt.Chart(data(values=rows))
            .mark_rect()
            .encode(
                x=alt.X("a0:Q", title=test_a, scale=xs), x2="a1:Q", y=alt.Y("b0:Q", title=test_b, scale=ys), y2="b1:Q",
                color=alt.Color("count:Q", scale=alt.Scale(scheme="blues", type="log"), title="dice"),
                tooltip=["count:Q"],
            )
        )  # fmt: skip
    layers: list[Any] = [body]
    c = corr[0] if len(corr) == 1 else {}
    sub = f"{n} dice"
    if c.get("slope") is not None:
        line = [
            {"a": ext[1], "b": c["slope"] * ext[1] + c["intercept"]},
            {"a": ext[2], "b": c["slope"] * ext[2] + c["intercept"]},
        ]
        layers.append(
            alt.Chart(data(values=line)).mark_line(color="#333333", strokeDash=[4, 2]).encode(x="a:Q", y="b:Q")
        )
        sub += f" | r = {c['r']:.3f} | b = {c['slope']:.4g} a + {c['intercept']:.4g}"
    return alt.layer(*layers).properties(
        width=width, height=height, title=alt.TitleParams(f"{test_b} vs {test_a}", subtitle=[sub], anchor="start")
    )


def bin_pareto(
    source: Any, *, bin_type: str = "H", top: int | None = None, width: int = 560, height: int = 300, **filters: Any
) -> Figure:
    """Bin Pareto of the final dice (stdf_bin_pareto): bars of each bin's dice, most first, in
    the wafer maps' bin colours, and the cumulative share as a line on the right axis."""
    bt = bin_type.upper()[:1]
    with opened(source) as src:
        rows = values(analysis.bin_pareto(src, bin_type=bt, **filters))
        passing: dict[Any, Any] = {}
        if any(r["bin_pf"] is None for r in rows):  # no P/F in the file's HBR/SBR: did its dice pass?
            dice = analysis.dice(src, **{k: v for k, v in filters.items() if k != "site"})
            col = "hard_bin" if bt == "H" else "soft_bin"
            passing = dict(sql_on(dice, f"SELECT {col}, bool_and(passed) FROM t GROUP BY 1").fetchall())
    if not rows:
        raise ValueError("no dice: check the filters")
    legend = sorted(rows, key=lambda r: (r["bin_num"] is None, r["bin_num"] or 0))
    colors = dict(
        zip(
            [r["bin_num"] for r in legend],
            bin_colors([(r["bin_num"], r["bin_pf"] == "P" if r["bin_pf"] else bool(passing.get(r["bin_num"]))) for r in legend]),
            strict=True,
        )
    )  # fmt: skip
    if top is not None:
        rows = rows[: max(1, top)]
    for r in rows:
        r["bin"] = bin_label(r["bin_num"], r["bin_name"])
    order = [r["bin"] for r in rows]
    x = alt.X(
        "bin:N",
        sort=order,
        title="hard bin" if bt == "H" else "soft bin",
        axis=alt.Axis(labelAngle=-40, labelLimit=160),
    )
    base = alt.Chart(data(values=rows))
    bars = base.mark_bar().encode(
        x=x, y=alt.Y("count:Q", title="dice"),
        color=alt.Color("bin:N", scale=alt.Scale(domain=order, range=[colors[r["bin_num"]] for r in rows]), legend=None),
        tooltip=["bin:N", "count:Q", alt.Tooltip("fraction:Q", format=".2%"), alt.Tooltip("cum_fraction:Q", format=".2%")],
    )  # fmt: skip
    cum_y = alt.Y(
        "cum_fraction:Q", title="cumulative", axis=alt.Axis(format="%", orient="right"), scale=alt.Scale(domain=[0, 1])
    )
    line = base.mark_line(color="#333333", point=True).encode(x=x, y=cum_y)
    total = sum(r["count"] for r in rows)
    return cast(
        Figure,
        alt.layer(bars, line)
        .resolve_scale(y="independent")
        .properties(
            width=width, height=height, title=alt.TitleParams("bin Pareto", subtitle=[f"{total} dice"], anchor="start")
        ),
    )


__all__ = ["bin_pareto", "box", "box_data", "histogram", "histogram_data", "scatter", "trend"]
