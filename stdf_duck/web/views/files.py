"""Files: for an archive its ledger (the `ingest` table: each file's status, error, damage,
warnings, rows and time) and the decoder's warnings; for STDF files their `stdf_files` rows."""

from __future__ import annotations

import streamlit as st

from stdf_duck.web.data import Filters, backend, query

LEDGER = (
    "SELECT path, status, error, damage, duplicate_of, part_typ, test_stage, lot_id, n_warnings, rows_parts, "
    "rows_results, size, seconds, finished_at FROM ingest ORDER BY status <> 'ok' DESC, path"
)
STATUS = "SELECT status, count(*) AS files FROM ingest GROUP BY status ORDER BY files DESC, status"
WARNINGS = "SELECT w.path, w.code, count(*) AS n, min(w.message) AS example FROM warnings w GROUP BY ALL ORDER BY n DESC LIMIT 500"
FILES = (
    "SELECT file_name, lot_id, part_typ, test_stage, node_nam, start_time, n_parts, n_parts_final, n_passed_final, "
    "yield_final, n_wafers, n_sites, n_tests, n_results, complete, n_warnings, file_path FROM files ORDER BY file_path"
)


def render(f: Filters) -> None:
    st.header("files")
    if backend().kind == "archive":
        status = query(STATUS)
        cols = st.columns(max(1, len(status)) + 1)
        cols[0].metric("files", f"{int(status['files'].sum())}")
        for col, r in zip(cols[1:], status.to_dict("records"), strict=False):
            col.metric(str(r["status"]), f"{int(r['files'])}")
        ledger = query(LEDGER)
        bad = ledger[ledger["status"] != "ok"]
        if not bad.empty:
            st.subheader(f"not ok ({len(bad)})")
            st.table(bad[["path", "status", "error", "damage"]].head(50))
        st.subheader("ledger")
        st.dataframe(ledger, hide_index=True)
        warnings = query(WARNINGS)
        st.subheader(f"warnings ({int(warnings['n'].sum()) if not warnings.empty else 0})")
        if not warnings.empty:
            st.dataframe(warnings, hide_index=True)
    else:
        files = query(FILES)
        st.metric("files", f"{len(files)}")
        st.table(files[["file_name", "lot_id", "n_parts", "n_parts_final", "n_passed_final", "complete", "n_warnings"]])
        st.dataframe(files, hide_index=True)
