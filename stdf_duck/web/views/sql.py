"""SQL: a read-only editor over the source's views (parts, results, files, tests, bins, wafers)
and the analysis macros: one SELECT, checked by the HTTP API's guard (stdf_duck.api.sql_guard) on
a confined connection, at most the row limit shown."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import SQL_MAX_ROWS, SQL_ROWS, Filters, backend

EXAMPLE = "SELECT lot_id, wafer_id, count(*) AS parts, count(*) FILTER (WHERE passed) AS passed\nFROM parts GROUP BY ALL ORDER BY ALL"  # fmt: skip


def render(f: Filters) -> None:
    st.header("SQL")
    st.caption(
        "One read-only query (SELECT, WITH, FROM) on the views parts, results, files, tests, bins, wafers "
        "and the analysis macros (FROM stdf_yield(per := ['lot']), ...)."
    )
    text = st.text_area("query", EXAMPLE, height=160, key="sql_text")
    limit = st.number_input("row limit", min_value=1, max_value=SQL_MAX_ROWS, value=SQL_ROWS, step=100, key="sql_limit")
    if not st.button("run", key="sql_run", type="primary"):
        return
    try:
        columns, rows, truncated = backend().sql(text, int(limit))
    except Exception as e:  # the refusal or the SQL error, shown as the answer
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        st.error(f"refused or failed: {msg}")
        return
    import pandas as pd

    st.markdown(f"{len(rows)} rows" + (f" (the first {len(rows)}: the row limit)" if truncated else ""))
    st.dataframe(pd.DataFrame.from_records(rows, columns=columns), hide_index=True)
