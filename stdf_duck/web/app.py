"""The Streamlit script of `stdf-duck web`: the sidebar (page, filters) and the chosen page.

Run by `streamlit run` (imports are absolute: Streamlit runs this file as a script). The page is
the sidebar's choice, first taken from the URL (`?page=lot`) and written back to it.
"""

from __future__ import annotations

import datetime as _dt
import importlib
from typing import Any

import streamlit as st

from stdf_duck.web import PAGES
from stdf_duck.web.data import Filters, backend, query

ALL = "(all)"
#: the names the filters offer, from the files' rows (no analysis: names, not numbers)
OPTIONS = "SELECT DISTINCT part_typ, test_stage, lot_id FROM files ORDER BY ALL"


def _pick(label: str, options: list[Any], key: str) -> Any:
    """A selectbox with '(all)' first; None when '(all)' is chosen."""
    choice = st.sidebar.selectbox(label, [ALL, *[o for o in options if o is not None]], key=key)
    return None if choice == ALL else choice


def _date(label: str, key: str) -> str | None:
    v = st.sidebar.date_input(label, value=None, key=key)
    return v.isoformat() if isinstance(v, _dt.date) else None


def sidebar() -> tuple[str, Filters]:
    """The page and the filters chosen in the sidebar."""
    asked = st.query_params.get("page", PAGES[0])
    if "page" not in st.session_state:
        st.session_state["page"] = asked if asked in PAGES else PAGES[0]
    page = st.sidebar.radio("page", PAGES, key="page")
    st.query_params["page"] = page
    groups = query(OPTIONS)
    product = _pick("product", sorted(groups["part_typ"].dropna().unique()), "f_product")
    rows = groups if product is None else groups[groups["part_typ"] == product]
    stage = _pick("stage", sorted(rows["test_stage"].dropna().unique()), "f_stage")
    rows = rows if stage is None else rows[rows["test_stage"] == stage]
    lot = _pick("lot", sorted(rows["lot_id"].dropna().unique()), "f_lot")
    date_from = _date("tested from", "f_from")
    date_to = _date("tested until", "f_to")
    be = backend()
    st.sidebar.caption(f"{be.kind}: {', '.join(be.items)}")
    return page, Filters(product=product, stage=stage, lot=lot, date_from=date_from, date_to=date_to)


def main() -> None:
    st.set_page_config(page_title="stdf-duck", layout="wide")
    page, filters = sidebar()
    module = importlib.import_module(f"stdf_duck.web.views.{page}")
    module.render(filters)


main()
