"""Export: the current selection's test results as CSV (long or pivot), Parquet or Excel, written
by stdf_duck.analysis.export into a temporary file and offered as a download."""

from __future__ import annotations

import contextlib
import os

import streamlit as st

from stdf_duck.analysis import export as export_results
from stdf_duck.web.data import Filters, backend, query

FORMATS = {"CSV": ("csv", ".csv", "text/csv"), "Parquet": ("parquet", ".parquet", "application/octet-stream"),
           "Excel": ("xlsx", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}  # fmt: skip


#: the tests to choose from, by number (the files' test records: names, not numbers)
TESTS = "SELECT test_num, min(coalesce(test_txt, test_name)) AS name FROM tests WHERE test_num IS NOT NULL GROUP BY 1 ORDER BY 1"


def render(f: Filters) -> None:
    st.header("export")
    desc = ", ".join(f"{k} {v}" for k, v in f.kwargs().items()) or "everything"
    st.markdown(f"selection: {desc}")
    shape = st.radio("shape", ["long", "pivot"], horizontal=True, key="export_shape",
                     help="long: one row per result; pivot: one row per die, a column per test")  # fmt: skip
    kind = st.radio("format", list(FORMATS), horizontal=True, key="export_format")
    names = dict(query(TESTS).itertuples(index=False, name=None))
    tests = st.multiselect(
        "tests (none: every test)", list(names), format_func=lambda n: f"{n} {names[n] or ''}", key="export_tests"
    )
    if not st.button("prepare the file", key="export_run", type="primary"):
        return
    fmt, suffix, mime = FORMATS[kind]
    be = backend()
    path = be.scratch_path(suffix)
    try:
        with be.source() as src:
            res = export_results(src, path, shape, format=fmt, tests=tests or None, **f.kwargs())
        with open(path, "rb") as fh:
            data = fh.read()
    except Exception as e:  # too many rows for Excel, no results: said on the page
        st.error(f"export failed: {e}")
        return
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    what = "results" if shape == "long" else "dice"
    st.markdown(f"{res.rows} {what} rows, {len(data)} bytes")
    name = "stdf-" + "-".join(str(v) for v in f.kwargs().values()) if f.kwargs() else "stdf-export"
    st.download_button(
        f"download {name}-{shape}{suffix}", data, file_name=f"{name}-{shape}{suffix}", mime=mime, key="export_dl"
    )
