"""stdf_duck.web: the Streamlit dashboard of `stdf-duck web` (the `web` extra).

`stdf-duck web ARCHIVE` (or `FILES...`) runs `streamlit run` on `APP` with the source passed in
the environment variable `SOURCE_ENV` (a JSON list of paths). The app (`app.py`) has one page per
module of `views`: overview, lot, wafer, tests, bins, files, sql, export, chosen in the sidebar or
by the URL (`?page=wafer`). Every number comes from `stdf_duck.analysis`, every figure from
`stdf_duck.plots`; `data` opens the source once per process and caches the answers per filters.
"""

from __future__ import annotations

import os

#: the environment variable holding the dashboard's source: a JSON list of paths (an archive or files)
SOURCE_ENV = "STDF_DUCK_WEB_SOURCE"
#: the Streamlit script
APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")
#: the pages, in the sidebar's order (each a module of stdf_duck.web.views)
PAGES = ("overview", "lot", "wafer", "tests", "bins", "files", "sql", "export")

__all__ = ["APP", "PAGES", "SOURCE_ENV"]
