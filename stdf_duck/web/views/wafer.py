"""Wafer: one wafer's map by hard or soft bin, pass/fail or a test's value (stdf_wafer_map),
its yield and WCR geometry (stdf_wafer_info), and the results of the die chosen on the map (a
click) or in the list (stdf_test_results of that die)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from stdf_duck.web.data import Filters, die_results, pct, show, table
from stdf_duck.web.views.lot import choose_lot

COLORS = {
    "hard bin": ("bin", "H"),
    "soft bin": ("bin", "S"),
    "pass/fail": ("pass", "H"),
    "a test's value": ("test", "H"),
}


def _clicked(state: Any) -> tuple[int, int] | None:
    """The (x, y) of the die clicked on the map, if any."""
    try:
        points = state["selection"]["die"]
    except (KeyError, TypeError):
        return None
    if not points:
        return None
    p = points[0]
    return int(p["x"]), int(p["y"])


def _die_results(f: Filters, x: int, y: int) -> pd.DataFrame:
    res = die_results(f, x, y)
    cols = ["test_key", "pin_name", "units", "lo_limit", "result", "hi_limit", "passed"]
    return res[[c for c in cols if c in res.columns]]


def _die(f: Filters, dice: pd.DataFrame, clicked: tuple[int, int] | None) -> None:
    """The chosen die's bins and results."""
    xy = sorted(
        {(int(x), int(y)) for x, y in zip(dice["x_coord"], dice["y_coord"], strict=True) if pd.notna(x) and pd.notna(y)}
    )
    if not xy:
        return
    labels = [f"{x}, {y}" for x, y in xy]
    if clicked in xy:
        st.session_state["wafer_die"] = f"{clicked[0]}, {clicked[1]}"
    choice = st.selectbox("die (x, y)", labels, key="wafer_die")
    x, y = (int(v) for v in str(choice).split(","))
    d = dice[(dice["x_coord"] == x) & (dice["y_coord"] == y)].iloc[0]
    state = "pass" if d["passed"] else "fail"
    st.markdown(
        f"die ({x}, {y}): **{state}**, hard bin {d['hard_bin']} {d['hbin_name'] or ''}, soft bin {d['soft_bin']} "
        f"{d['sbin_name'] or ''}, site {d['site_num']}, part {d['part_id']}, {d['n_insertions']} insertion(s)"
    )
    st.dataframe(_die_results(f, x, y), hide_index=True)


def render(f: Filters) -> None:
    st.header("wafer")
    lot = choose_lot(f)
    if lot is None:
        st.info("no lot in the selection")
        return
    info = table("wafer_info", f.but(lot=lot), wafer=False)
    wafers = [w for w in info["wafer_id"].tolist() if w is not None]
    if not wafers:
        st.info(f"lot {lot} has no wafers")
        return
    wafer = st.selectbox("wafer", wafers, key="wafer_wafer")
    wf = f.but(lot=lot, wafer=wafer)
    w = info[info["wafer_id"] == wafer].iloc[0]
    c = st.columns(4)
    c[0].metric("dice", f"{int(w['dice'])}")
    c[1].metric("good", f"{int(w['good'])}")
    c[2].metric("yield", pct(w["yield"]))
    c[3].metric("flat/notch", str(w["wf_flat"] or "?"))
    mode = st.radio("colour by", list(COLORS), horizontal=True, key="wafer_color")
    color, bin_type = COLORS[mode]
    if color == "test":
        stats = table("test_stats", wf)
        keys = list(dict.fromkeys(k for k, n in zip(stats["test_key"], stats["n"], strict=True) if n))
        if not keys:
            st.info("no test with values on this wafer")
            return
        color = st.selectbox("test", keys, key="wafer_test")
    state = show("wafer_map", wf, key="wafer_map", color=color, bin_type=bin_type, size=520)
    _die(wf, table("wafer_map", wf), _clicked(state))
