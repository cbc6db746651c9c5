"""Lot: the yield of every wafer of the lot (stdf_yield per wafer), a small map of each wafer headed
by its yield (plots.lot_maps: one query for the lot), the lot's stacked fail map (stdf_stacked_map)
and its hard bin Pareto (stdf_bin_pareto)."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import Filters, pct, query, show, table

#: the mini maps: side in px, maps to a row
MAP_SIZE = 180
COLUMNS = 4
#: the wafers table
WAFER_COLUMNS = ["wafer_id", "insertions", "dice", "good", "yield", "first_pass_yield", "retest_recovery"]
PERCENT = ("yield", "first_pass_yield", "retest_recovery")
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
    show("lot_maps", lf, size=MAP_SIZE, columns=COLUMNS)
    shown = wafers[[c for c in WAFER_COLUMNS if c in wafers.columns]].copy()
    for c in PERCENT:
        if c in shown.columns:
            shown[c] = shown[c].map(pct)
    st.table(shown.set_index("wafer_id"))  # a static table: every wafer's numbers in the page's text
    left, right = st.columns(2)
    with left:
        st.subheader("stacked fail map")
        show("stacked_map", lf, wafer=False)
    with right:
        st.subheader("hard bin Pareto")
        show("bin_pareto", lf, bin_type="H", width=420)
