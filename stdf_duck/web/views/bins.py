"""Bins: the hard or soft bin Pareto of the final dice (stdf_bin_pareto) and bin x site with each
site's deviation from the others (stdf_bin_sites)."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import Filters, pct, show, table


def render(f: Filters) -> None:
    st.header("bins")
    kind = st.radio("bins", ["hard", "soft"], horizontal=True, key="bins_type")
    bt = "H" if kind == "hard" else "S"
    pareto = table("bin_pareto", f, bin_type=bt)
    if pareto.empty:
        st.info("no dice in the selection")
        return
    show("bin_pareto", f, bin_type=bt, width=640)
    st.subheader(f"{kind} bin Pareto")
    rows = [
        {"bin": int(r["bin_num"]), "name": r["bin_name"] or "", "P/F": r["bin_pf"] or "", "dice": int(r["count"]),
         "share": pct(r["fraction"]), "cumulative": pct(r["cum_fraction"])}
        for r in pareto.to_dict("records")
    ]  # fmt: skip
    st.table(rows)
    st.subheader(f"{kind} bin x site")
    sites = table("bin_sites", f, bin_type=bt)
    if sites.empty:
        return
    sites = sites.assign(site=[f"site {h}/{s}" for h, s in zip(sites["head_num"], sites["site_num"], strict=True)])
    counts = sites.pivot_table(
        index=["bin_num", "bin_name"], columns="site", values="count", aggfunc="sum", fill_value=0
    )
    st.table(counts.reset_index())
    st.caption("deviation: a site's share of a bin minus the other sites' share")
    dev = sites.pivot_table(index=["bin_num", "bin_name"], columns="site", values="deviation", aggfunc="sum")
    st.dataframe(dev.reset_index().round(4), hide_index=True)
