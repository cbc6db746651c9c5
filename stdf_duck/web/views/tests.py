"""Tests: the searchable table of test statistics with Cpk and fails (stdf_test_stats); for one
test its figures (n, mean, Cpk, fails), histogram with limits, box per site and trend across lots
(stdf_duck.plots over stdf_test_results and stdf_trend)."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import Filters, show, table

COLUMNS = ["test_key", "rec_type", "pin_name", "units", "n", "mean", "stddev", "lo_limit", "hi_limit", "cp", "cpk", "executions", "fails", "fail_rate"]  # fmt: skip


def _num(v: object, fmt: str = ".4g") -> str:
    return "-" if v is None or v != v else format(float(v), fmt)  # type: ignore[arg-type]


def render(f: Filters) -> None:
    st.header("tests")
    stats = table("test_stats", f)
    if stats.empty:
        st.info("no tests in the selection")
        return
    search = st.text_input("search tests (number or name)", key="tests_search")
    shown = stats
    if search:
        shown = stats[stats["test_key"].str.contains(search, case=False, regex=False, na=False)]
    st.markdown(f"{len(shown)} of {len(stats)} test rows")
    st.dataframe(shown[[c for c in COLUMNS if c in shown.columns]], hide_index=True)
    keys = list(dict.fromkeys(shown["test_key"].tolist()))
    if not keys:
        return
    test = st.selectbox("test", keys, key="tests_test")
    row = stats[stats["test_key"] == test].iloc[0]
    c = st.columns(5)
    pin = f" (pin {row['pin_name']})" if row["rec_type"] == "MPR" and row["pin_name"] else ""
    c[0].metric(f"results{pin}", f"{int(row['n'])}")
    c[1].metric("mean", _num(row["mean"]))
    c[2].metric("Cpk", _num(row["cpk"], ".3f"))
    c[3].metric("fails", f"{int(row['fails'])}")
    c[4].metric("executions", f"{int(row['executions'])}")
    if not row["n"]:
        st.info(f"{test} has no values (a functional test): pass/fail counts only")
        return
    left, right = st.columns(2)
    with left:
        show("histogram", f, test=test)
    with right:
        show("box", f, test=test, by="site", width=400)  # its axis titles beside it fit half the page
    st.subheader("trend across lots")
    show("trend", f, test=test, by="lot")
