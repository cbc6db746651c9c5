"""Overview: the selection's KPIs (dice, good, yield, first-pass yield: stdf_yield), the yield
trend across lots (stdf_trend) and the table of lots."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import Filters, pct, show, table


def render(f: Filters) -> None:
    st.header("overview")
    total = table("yield_", f, by=None)
    if total.empty or int(total["dice"].iloc[0] or 0) == 0:
        st.info("no dice in the selection")
        return
    row = total.iloc[0]
    c = st.columns(5)
    c[0].metric("dice", f"{int(row['dice'])}")
    c[1].metric("good", f"{int(row['good'])}")
    c[2].metric("yield", pct(row["yield"]))
    c[3].metric("first-pass yield", pct(row["first_pass_yield"]))
    c[4].metric("retests", f"{int(row['retests'])}")
    st.subheader("yield trend across lots")
    show("trend", f, by="lot")
    st.subheader("lots")
    lots = table("yield_", f, by=["product", "stage", "lot"])
    st.markdown(f"{len(lots)} lots")
    st.dataframe(lots, hide_index=True)
