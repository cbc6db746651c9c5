"""Wafer maps and the stacked fail map of a lot, drawn in the wafer's own frame.

Orientation follows the WCR (stdf-reference: POS_X is the direction of increasing X, L or R;
POS_Y of increasing Y, U or D; WF_FLAT the side of the flat or notch, U/D/L/R, in that same
picture): x grows to the right unless POS_X is L, y grows upwards only when POS_Y is U (D or no
WCR: downwards, the prober's row order). The wafer outline is the circle around the dice's
extent (centre the middle of the extent, radius to the farthest die corner); the notch is a
triangle on its WF_FLAT side. One die step is the same number of pixels in x and y (square dice);
positions without a die stay blank.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, cast

import altair as alt

from .. import analysis
from ._base import NO_VALUE, PASS_FAIL, Figure, bin_colors, bin_label, data, frozen, lit, opened, sql_on, values

#: the notch's triangle, pointing into the wafer from each side of the picture
_NOTCH_SHAPES = {"U": "triangle-down", "D": "triangle-up", "L": "triangle-right", "R": "triangle-left"}
_BIN_COLUMNS = {"H": ("hard_bin", "hbin_name", "hbin_pf"), "S": ("soft_bin", "sbin_name", "sbin_pf")}
_GEOMETRY = ("wf_flat", "pos_x", "pos_y")


def _extent(rel: Any) -> dict[str, float]:
    """Centre (middle of the dice's extent) and radius (to the farthest die corner), in die steps."""
    row = sql_on(
        rel,
        "WITH c AS (SELECT (min(x) + max(x)) / 2.0 AS cx, (min(y) + max(y)) / 2.0 AS cy FROM t) "
        "SELECT c.cx, c.cy, max(sqrt((abs(t.x - c.cx) + 0.5) ** 2 + (abs(t.y - c.cy) + 0.5) ** 2)) AS r "
        "FROM t, c GROUP BY c.cx, c.cy",
    ).fetchall()[0]
    if row is None:
        raise ValueError("no dice with coordinates to draw")
    return {"cx": float(row[0]), "cy": float(row[1]), "r": float(row[2])}


def _frame(
    ext: dict[str, float], geometry: dict[str, Any], cell: float | None, size: int
) -> tuple[alt.X, alt.Y, list[alt.Chart], int]:
    """The x and y encodings of die rectangles, the outline and notch layers, the plot's side in px."""
    pad = 1.0
    half = ext["r"] + pad
    if cell is None:
        cell = max(2.0, min(28.0, math.floor(size / (2 * half))))
    side = int(round(2 * half * cell))
    x_rev = geometry.get("pos_x") == "L"
    y_rev = geometry.get("pos_y") != "U"
    xs = alt.Scale(domain=[ext["cx"] - half, ext["cx"] + half], reverse=x_rev, nice=False, zero=False)
    ys = alt.Scale(domain=[ext["cy"] - half, ext["cy"] + half], reverse=y_rev, nice=False, zero=False)
    pos_x = geometry.get("pos_x") or "?"
    pos_y = geometry.get("pos_y") or "? (no WCR: drawn downwards)"
    axis: dict[str, Any] = {"grid": False, "tickMinStep": 1, "format": "d"}
    x = alt.X("x0:Q", scale=xs, axis=alt.Axis(title=f"X (WCR POS_X {pos_x})", **axis))
    y = alt.Y("y0:Q", scale=ys, axis=alt.Axis(title=f"Y (WCR POS_Y {pos_y})", **axis))
    circle = [
        {"i": i, "cx": ext["cx"] + ext["r"] * math.cos(2 * math.pi * i / 180), "cy": ext["cy"] + ext["r"] * math.sin(2 * math.pi * i / 180)}
        for i in range(181)
    ]  # fmt: skip
    layers = [
        alt.Chart(data(values=circle))
        .mark_line(color="#888888", strokeWidth=1)
        .encode(x=alt.X("cx:Q", scale=xs), y=alt.Y("cy:Q", scale=ys), order="i:Q")
    ]
    flat = geometry.get("wf_flat")
    if flat in _NOTCH_SHAPES:
        r = ext["r"] + 0.45  # just outside the outline, the triangle's tip on it
        lo_x, hi_x = (ext["cx"] + r, ext["cx"] - r) if x_rev else (ext["cx"] - r, ext["cx"] + r)
        bottom, top = (ext["cy"] + r, ext["cy"] - r) if y_rev else (ext["cy"] - r, ext["cy"] + r)
        at = {"U": (ext["cx"], top), "D": (ext["cx"], bottom), "L": (lo_x, ext["cy"]), "R": (hi_x, ext["cy"])}[flat]
        notch = [{"nx": at[0], "ny": at[1], "label": f"notch {flat}"}]
        layers.append(
            alt.Chart(data(values=notch))
            .mark_point(shape=_NOTCH_SHAPES[flat], filled=True, color="#333333", size=min(160.0, max(40.0, (0.9 * cell) ** 2)), opacity=1)
            .encode(x=alt.X("nx:Q", scale=xs), y=alt.Y("ny:Q", scale=ys), tooltip=["label:N"])
        )  # fmt: skip
    return x, y, layers, side


def _one_wafer(rel: Any) -> dict[str, Any]:
    rows = values(sql_on(rel, "SELECT DISTINCT part_typ, test_stage, lot_id, wafer_id FROM t ORDER BY ALL NULLS LAST"))
    if not rows:
        raise ValueError("no dice: check the lot, wafer and other filters")
    if len(rows) > 1:
        names = ", ".join(f"{r['lot_id']}/{r['wafer_id']}" for r in rows[:6])
        raise ValueError(f"{len(rows)} wafers match ({names}{', ...' if len(rows) > 6 else ''}): name lot= and wafer=")
    return rows[0]


def _info(src: Any, key: dict[str, Any], die_key: str | None) -> dict[str, Any]:
    """The WCR geometry and the yield of the wafer (stdf_wafer_info)."""
    kw = {
        k: key[c]
        for k, c in (("product", "part_typ"), ("stage", "test_stage"), ("lot", "lot_id"), ("wafer", "wafer_id"))
    }
    rows = values(analysis.wafer_info(src, die_key=die_key, **{k: v for k, v in kw.items() if v is not None}))
    return rows[0] if rows else {}


def _lot_geometry(src: Any, lot: Any, filters: dict[str, Any]) -> dict[str, Any]:
    """The WCR geometry (flat, POS_X, POS_Y) most of the lot's wafers carry (stdf_wafer_info)."""
    infos = values(analysis.wafer_info(src, lot=lot, **filters))
    return {
        g: Counter(i[g] for i in infos if i.get(g)).most_common(1)[0][0]
        for g in _GEOMETRY
        if any(i.get(g) for i in infos)
    }


_PF = "CASE WHEN passed THEN 'pass' WHEN NOT passed THEN 'fail' ELSE 'unknown' END AS pf"


def _bin_legend(dice: Any) -> tuple[list[dict[str, Any]], dict[Any, str]]:
    """The bins of the dice (bin_num, its most frequent name, passing by its P/F or its dice) in
    number order, and each bin number's legend label."""
    legend = values(
        sql_on(
            dice,
            "SELECT bin_num, stdf_mode(histogram(bin_name)) AS bin_name, "
            "coalesce(stdf_mode(histogram(bin_pf)) = 'P', bool_and(passed)) AS passing, "
            "count(*) AS n FROM t GROUP BY bin_num ORDER BY bin_num NULLS LAST",
        )
    )
    return legend, {r["bin_num"]: bin_label(r["bin_num"], r["bin_name"]) for r in legend}


def _pass_fill(rows: list[dict[str, Any]]) -> alt.Color:
    dom = [k for k in ("pass", "fail", "unknown") if any(r["pf"] == k for r in rows)]
    return alt.Color(
        "pf:N", scale=alt.Scale(domain=dom, range=[PASS_FAIL.get(k, NO_VALUE) for k in dom]),
        legend=alt.Legend(title="die"),
    )  # fmt: skip


def _bin_fill(legend: list[dict[str, Any]], labels: dict[Any, str], bin_type: str) -> alt.Color:
    dom = [labels[r["bin_num"]] for r in legend]
    rng = bin_colors([(r["bin_num"], bool(r["passing"])) for r in legend])
    kind = "hard bin" if bin_type.upper() == "H" else "soft bin"
    return alt.Color(
        "bin:N", scale=alt.Scale(domain=dom, range=rng), sort=dom,
        legend=alt.Legend(title=kind, symbolLimit=0, labelLimit=220, columns=1 if len(dom) <= 24 else 2),
    )  # fmt: skip


def wafer_map(
    source: Any,
    *,
    color: str = "bin",
    bin_type: str = "H",
    test_key: str = "number_name",
    cell: float | None = None,
    size: int = 520,
    title: str | None = None,
    **filters: Any,
) -> Figure:
    """A wafer map of one wafer (name it with lot= and wafer= when the source has several):
    `color` "bin" (hard or soft bins by `bin_type`, a legend of bin numbers and names; passing
    bins green), "pass" (pass/fail) or a test_key (the die's value of that test as a colour
    scale, grey where a die has none). One rectangle per final die (stdf_wafer_map); `cell` the
    die's side in px (default: the map fits `size`). Selections for a dashboard: "die" (click,
    fields x, y) and, by bin, "bins" (click on the legend)."""
    test = None if color in ("bin", "pass") else color
    if bin_type.upper() not in _BIN_COLUMNS:
        raise ValueError("bin_type must be 'H' or 'S'")
    num, name, pf = _BIN_COLUMNS[bin_type.upper()]
    with opened(source) as src, frozen(src, analysis.wafer_map(src, test=test, test_key=test_key, **filters)) as rel:
        key = _one_wafer(rel)
        dice = sql_on(
            rel,
            f"SELECT x_coord AS x, y_coord AS y, x_coord - 0.5 AS x0, x_coord + 0.5 AS x1, y_coord - 0.5 AS y0, "
            f"y_coord + 0.5 AS y1, {num} AS bin_num, {name} AS bin_name, {pf} AS bin_pf, passed, "
            f"{_PF}, head_num, site_num, part_id, n_insertions, value, units, test_name FROM t "
            "WHERE x_coord IS NOT NULL AND y_coord IS NOT NULL",
        )
        scale = _value_scale(src, test, test_key, filters) if test is not None else None
        ext = _extent(dice)
        legend, labels = _bin_legend(dice)
        rows = values(dice)
        no_xy = sql_on(rel, "SELECT count(*) FROM t WHERE x_coord IS NULL OR y_coord IS NULL").fetchall()[0]
        info = _info(src, key, filters.get("die_key"))
    for r in rows:
        r["bin"] = labels[r["bin_num"]]
    x, y, layers, side = _frame(ext, info, cell, size)
    under: list[alt.Chart] = []
    die_sel = alt.selection_point(name="die", fields=["x", "y"], on="click", clear="dblclick")
    params: list[Any] = [die_sel]
    tooltip = ["x:Q", "y:Q", "bin:N", "pf:N", "site_num:Q", "part_id:N", "n_insertions:Q"]
    if test is not None:
        units = next((r["units"] for r in rows if r["units"]), None)
        tname = f"{test}" + (f" [{units}]" if units else "")
        fill: Any = alt.Color("value:Q", scale=scale, legend=alt.Legend(title=tname, orient="right"))
        under.append(_no_value_layer(rows, x, y))
        tooltip.append("value:Q")
        opacity: Any = alt.value(1)
    elif color == "pass":
        fill = _pass_fill(rows)
        opacity = alt.value(1)
    else:
        fill = _bin_fill(legend, labels, bin_type)
        bins_sel = alt.selection_point(name="bins", fields=["bin"], bind="legend")
        params.append(bins_sel)
        opacity = alt.condition(bins_sel, alt.value(1), alt.value(0.2))
    stroke = {"stroke": "white", "strokeWidth": 0.5} if side / max(1.0, 2 * ext["r"]) >= 6 else {"strokeWidth": 0}
    dice_layer = (
        alt.Chart(data(values=rows), name="dice")
        .mark_rect(**stroke)
        .encode(x=x, x2="x1:Q", y=y, y2="y1:Q", fill=fill, opacity=opacity, tooltip=tooltip)
        .add_params(*params)
    )
    sub = [_subtitle(info, len(rows), int(no_xy[0]) if no_xy else 0) + (" | grey: no value" if test else "")]
    head = title or f"{key['lot_id'] or '?'} / {key['wafer_id'] or '?'}" + (f" - {test}" if test else "")
    return alt.layer(layers[0], *under, dice_layer, *layers[1:]).properties(
        width=side, height=side, title=alt.TitleParams(head, subtitle=sub, anchor="start")
    )


def _value_scale(src: Any, test: str, test_key: str, filters: dict[str, Any]) -> alt.Scale:
    """viridis over p1..p99 of the test (stdf_test_stats), clamped: a few wild dice do not wash
    out the map."""
    stats = analysis.test_stats(src, test_key=test_key, tests=[test], **filters)
    row = values(
        sql_on(stats, f"SELECT p1, p99 FROM t WHERE test_key = {lit(test)} ORDER BY pin_index NULLS FIRST LIMIT 1")
    )
    if row and row[0]["p1"] is not None and row[0]["p99"] is not None and row[0]["p99"] > row[0]["p1"]:
        return alt.Scale(scheme="viridis", domain=[row[0]["p1"], row[0]["p99"]], clamp=True)
    return alt.Scale(scheme="viridis")


def _no_value_layer(rows: list[dict[str, Any]], x: alt.X, y: alt.Y) -> alt.Chart:
    """Grey rectangles under the value layer: dice without a value of the test stay visible."""
    return cast(
        alt.Chart,
        alt.Chart(data(values=rows))
        .mark_rect(color=NO_VALUE, stroke="white", strokeWidth=0.5)
        .encode(x=x, x2="x1:Q", y=y, y2="y1:Q", tooltip=["x:Q", "y:Q", "bin:N"]),
    )


def _subtitle(info: dict[str, Any], n: int, no_xy: int) -> str:
    parts = [f"{n} dice"]
    if info.get("yield") is not None:
        parts.append(f"yield {100 * info['yield']:.1f}%")
    parts.append(f"flat/notch {info.get('wf_flat') or '? (no WCR)'}")
    if no_xy:
        parts.append(f"{no_xy} dice without coordinates not drawn")
    return " | ".join(parts)


def stacked_map(
    source: Any, *, cell: float | None = None, size: int = 520, title: str | None = None, **filters: Any
) -> Figure:
    """The stacked fail map of one lot (name it with lot= when the source has several): per die
    position, the share of the lot's wafers whose final die there failed (stdf_stacked_map),
    from white (none) to dark red (all); drawn in the frame of the lot's wafers' WCR."""
    with opened(source) as src, frozen(src, analysis.stacked_map(src, by="lot", **filters)) as rel:
        lots = [r[0] for r in sql_on(rel, "SELECT DISTINCT lot_id FROM t ORDER BY 1 NULLS LAST").fetchall()]
        if len(lots) != 1:
            raise ValueError(
                f"{len(lots)} lots match ({', '.join(map(str, lots[:6]))}): name lot=" if lots else "no dice"
            )
        dice = sql_on(
            rel,
            "SELECT x_coord AS x, y_coord AS y, x_coord - 0.5 AS x0, x_coord + 0.5 AS x1, y_coord - 0.5 AS y0, "
            "y_coord + 0.5 AS y1, n_wafers, n_dice, n_fail, fail_rate FROM t",
        )
        ext = _extent(dice)
        rows = values(dice)
        keep = {k: v for k, v in filters.items() if k in ("product", "stage", "die_key", "date_from", "date_to")}
        geometry = _lot_geometry(src, lots[0], keep)
        wafers = values(
            sql_on(rel, f"SELECT max(n_wafers) AS n FROM t WHERE lot_id IS NOT DISTINCT FROM {lit(lots[0])}")
        )
    x, y, layers, side = _frame(ext, geometry, cell, size)
    dice_layer = (
        alt.Chart(data(values=rows), name="dice")
        .mark_rect(stroke="white", strokeWidth=0.3)
        .encode(
            x=x, x2="x1:Q", y=y, y2="y1:Q",
            fill=alt.Color("fail_rate:Q", scale=alt.Scale(scheme="reds", domain=[0, 1]), legend=alt.Legend(title="failed", format=".0%")),
            tooltip=["x:Q", "y:Q", "n_dice:Q", "n_fail:Q", alt.Tooltip("fail_rate:Q", format=".0%")],
        )
        .add_params(alt.selection_point(name="die", fields=["x", "y"], on="click", clear="dblclick"))
    )  # fmt: skip
    sub = f"{wafers[0]['n'] if wafers else 0} wafers | {len(rows)} positions | flat/notch {geometry.get('wf_flat') or '?'}"
    return alt.layer(layers[0], dice_layer, *layers[1:]).properties(
        width=side,
        height=side,
        title=alt.TitleParams(title or f"{lots[0]}: stacked fails", subtitle=[sub], anchor="start"),
    )


def lot_maps(
    source: Any,
    *,
    color: str = "bin",
    bin_type: str = "H",
    columns: int = 4,
    cell: float | None = None,
    size: int = 200,
    title: str | None = None,
    **filters: Any,
) -> Figure:
    """Every wafer of one lot (name it with lot= when the source has several) as a small map, in a
    grid of `columns`, each headed by its wafer and yield: `color` "bin" (hard or soft by
    `bin_type`, one legend for the lot) or "pass". One die grid, frame and outline for the lot
    (the extent of all its wafers, the WCR most of its wafers carry); `size` the side of each
    map in px. One query for the lot (stdf_wafer_map) instead of one per wafer."""
    if color not in ("bin", "pass"):
        raise ValueError("color must be 'bin' or 'pass' (a test's value: wafer_map of one wafer)")
    if bin_type.upper() not in _BIN_COLUMNS:
        raise ValueError("bin_type must be 'H' or 'S'")
    if columns < 1:
        raise ValueError("columns must be at least 1")
    num, name, pf = _BIN_COLUMNS[bin_type.upper()]
    with opened(source) as src, frozen(src, analysis.wafer_map(src, **filters)) as rel:
        lots = values(sql_on(rel, "SELECT DISTINCT part_typ, test_stage, lot_id FROM t ORDER BY ALL NULLS LAST"))
        if len(lots) != 1:
            names = ", ".join(f"{r['lot_id']}" for r in lots[:6])
            raise ValueError(
                f"{len(lots)} lots match ({names}): name lot= (and product=, stage=)" if lots else "no dice"
            )
        wafer = "coalesce(wafer_id, '(no wafer id) ' || file_path)"
        heads = values(
            sql_on(
                rel,
                f"SELECT {wafer} AS w, count(*) AS dice, count(*) FILTER (WHERE passed) AS good FROM t "
                "GROUP BY ALL ORDER BY w",
            )
        )
        dice = sql_on(
            rel,
            f"SELECT {wafer} AS w, x_coord AS x, y_coord AS y, {num} AS bin_num, {name} AS bin_name, "
            f"{pf} AS bin_pf, passed, {_PF} FROM t WHERE x_coord IS NOT NULL AND y_coord IS NOT NULL",
        )
        ext = _extent(dice)
        legend, labels = _bin_legend(dice)
        rows = values(sql_on(dice, "SELECT w, x, y, bin_num, pf FROM t"))
        key = lots[0]
        keep = {k: v for k, v in (("product", key["part_typ"]), ("stage", key["test_stage"])) if v is not None}
        keep.update({k: v for k, v in filters.items() if k in ("die_key", "date_from", "date_to")})
        geometry = _lot_geometry(src, key["lot_id"], keep)
    header = {h["w"]: f"{h['w']}: {100 * h['good'] / h['dice']:.1f}%" if h["dice"] else h["w"] for h in heads}
    for r in rows:
        r["bin"] = labels[r.pop("bin_num")]
        r["w"] = header[r["w"]]
    x, y, layers, side = _frame(ext, geometry, cell, size)
    fill = _pass_fill(rows) if color == "pass" else _bin_fill(legend, labels, bin_type)
    stroke = {"stroke": "white", "strokeWidth": 0.3} if side / max(1.0, 2 * ext["r"]) >= 6 else {"strokeWidth": 0}
    dice_layer = (
        alt.Chart(name="dice")
        .mark_rect(**stroke)
        .transform_calculate(x0="datum.x - 0.5", x1="datum.x + 0.5", y0="datum.y - 0.5", y1="datum.y + 0.5")
        .encode(x=x, x2="x1:Q", y=y, y2="y1:Q", fill=fill, tooltip=["w:N", "x:Q", "y:Q", "bin:N", "pf:N"])
    )
    order = [header[h["w"]] for h in heads]
    sub = f"{len(heads)} wafers | {len(rows)} dice | flat/notch {geometry.get('wf_flat') or '? (no WCR)'}"
    return (
        alt.layer(layers[0], dice_layer, *layers[1:])
        .properties(width=side, height=side)
        .facet(
            facet=alt.Facet("w:N", sort=order, title=None, header=alt.Header(labelFontSize=12, labelFontWeight="bold")),
            columns=columns,
            data=data(values=rows),
        )
        .properties(title=alt.TitleParams(title or f"{key['lot_id']}: wafers", subtitle=[sub], anchor="start"))
    )


__all__ = ["lot_maps", "stacked_map", "wafer_map"]
