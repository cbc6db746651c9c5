"""Lot: a mini wafer map of every wafer of the lot with its yield (stdf_wafer_map, stdf_yield per
wafer), the lot's stacked fail map (stdf_stacked_map) and its hard bin Pareto (stdf_bin_pareto)."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import Filters, pct, query, show, table

#: the mini maps drawn per page, in a grid of this many columns
MAX_WAFERS = 25
COLUMNS = 2
#: the lots to choose from (names from the files' rows)
LOTS = "SELECT DISTINCT part_typ, test_stage, lot_id FROM files ORDER BY lot_id, part_typ, test_stage"


def choose_lot(f: Filters) -> str | None:
    """The sidebar's lot, else one chosen here among the selection's lots."""
    if f.lot is not None:
        return f.lot
    lots = query(LOTS)
    if f.product is not None:
        lots = lots[lots["part_typ"] == f.product]
    if f.stage is not None:
        lots = lots[lots["test_stage"] == f.stage]
    names = list(dict.fromkeys(x for x in lots["lot_id"].tolist() if x is not None))
    if not names:
        return None
    choice = st.selectbox("lot", names, key="lot_lot")
    return None if choice is None else str(choice)


def render(f: Filters) -> None:
    st.header("lot")
    lot = choose_lot(f)
    if lot is None:
        st.info("no lot in the selection")
        return
    lf = f.but(lot=lot)
    total = table("yield_", lf, by="lot")
    if not total.empty:
        r = total.iloc[0]
        st.markdown(f"**{lot}**: {int(r['dice'])} dice, {int(r['good'])} good, yield {pct(r['yield'])}")
    wafers = table("yield_", lf, by="wafer")
    st.subheader(f"wafers ({len(wafers)})")
    rows = wafers.head(MAX_WAFERS).to_dict("records")
    if len(wafers) > MAX_WAFERS:
        st.caption(f"the first {MAX_WAFERS} wafers of {len(wafers)}")
    for start in range(0, len(rows), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, w in zip(cols, rows[start : start + COLUMNS], strict=False):
            with col:
                st.markdown(
                    f"**{w['wafer_id']}**: {int(w['dice'])} dice, {int(w['good'])} good, yield {pct(w['yield'])}"
                )
                show("wafer_map", lf.but(wafer=w["wafer_id"]), size=200)
    left, right = st.columns(2)
    with left:
        st.subheader("stacked fail map")
        show("stacked_map", lf, wafer=False)
    with right:
        st.subheader("hard bin Pareto")
        show("bin_pareto", lf, bin_type="H", width=420)
