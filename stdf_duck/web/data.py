"""The dashboard's data: the source opened once per process (`backend`, st.cache_resource) and
the answers of the analysis functions and figures of the plots cached per filters and per
generation of the source (`table`, `figure`, st.cache_data: a running dashboard shows what a sync
adds). Nothing here computes a number: each cached call is one function of
`stdf_duck.analysis` or `stdf_duck.plots` fetched as a DataFrame or a Vega-Lite spec.

An archive is read through the HTTP API's confined connection (`stdf_duck.api.db.Database`:
read-only views, no access outside the archive, the configuration locked, one cursor per call, so
sessions run in parallel). Files are read by an analysis `Source` whose connection is confined the
same way after its views are made; its temporary views live on that one connection, so calls on it
take turns (a lock).
"""

from __future__ import annotations

import contextlib
import glob as _glob
import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from stdf_duck import analysis, plots
from stdf_duck.analysis.source import Source
from stdf_duck.web import SOURCE_ENV

if TYPE_CHECKING:
    from stdf_duck.api.db import Database

plots.served()

#: the default and the largest row limit of the SQL page
SQL_ROWS = 1_000
SQL_MAX_ROWS = 10_000


@dataclass(frozen=True)
class Filters:
    """The sidebar's selection: the analyses' filters (None: all)."""

    product: str | None = None
    stage: str | None = None
    lot: str | None = None
    wafer: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def kwargs(self, *, wafer: bool = True) -> dict[str, Any]:
        """The filters to pass to an analysis function (the unset ones left out)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if not wafer:
            out.pop("wafer", None)
        return out

    def but(self, **changes: Any) -> Filters:
        """These filters with some replaced."""
        return Filters(**{**asdict(self), **changes})


class Backend:
    """The open source of the dashboard: an archive (a confined `Database`) or STDF files."""

    def __init__(self, items: list[str]) -> None:
        self.items = items
        self.key = json.dumps(items)
        self.db: Database | None = None
        self.files: Source | None = None
        self.lock = threading.RLock()
        #: the Source each thread is reading through now (`stop` interrupts them)
        self.running: dict[int, Source] = {}
        self.stopping = False
        if len(items) == 1 and analysis.is_archive(items[0]):
            from stdf_duck.api.db import Database

            self.db = Database(items[0], max_rows=SQL_MAX_ROWS)
            self.macros: frozenset[str] = self.db.macros
            self.scratch = self.db.scratch
        else:
            self.files = Source(items)
            self.scratch = tempfile.mkdtemp(prefix="stdf-duck-web-")
            self._confine(self.files)
            self.macros = frozenset(
                r[0]
                for r in self.files.con.execute(
                    "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type LIKE '%macro'"
                ).fetchall()
            )

    @property
    def kind(self) -> str:
        return "archive" if self.db is not None else "files"

    def generation(self) -> tuple[Any, ...]:
        """What the cached answers are of: the archive's catalog (a writer publishes a new one at
        each commit), or the files' sizes and modification times; part of every cache key."""
        if self.db is not None:
            return self.db.generation()
        out = []
        for item in self.items:
            for p in sorted(_glob.glob(item, recursive=True)) or [item]:
                with contextlib.suppress(OSError):
                    st = os.stat(p)
                    out.append((p, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def _confine(self, src: Source) -> None:
        """No file access but the scratch folder (exports), the configuration locked; the stdf_*
        table functions behind the views still read the files."""
        from stdf_duck.archive._sql import sql_literal

        dirs = sorted({os.path.join(d, "") for d in (self.scratch, os.path.realpath(self.scratch))})
        src.con.execute(f"SET temp_directory = {sql_literal(os.path.join(self.scratch, 'spill'))}")
        src.con.execute(f"SET allowed_directories = [{', '.join(sql_literal(d) for d in dirs)}]")
        src.con.execute("SET enable_external_access = false")
        src.con.execute("SET lock_configuration = true")

    @contextlib.contextmanager
    def source(self) -> Iterator[Source]:
        """An analysis Source for one call (fetch inside the block)."""
        if self.stopping:
            raise RuntimeError("the dashboard is stopping")
        if self.db is not None:
            with self.db.source() as src, self._running(src):
                yield src
        else:
            assert self.files is not None
            with self.lock, self._running(self.files):
                yield self.files

    @contextlib.contextmanager
    def _running(self, src: Source) -> Iterator[None]:
        me = threading.get_ident()
        self.running[me] = src
        try:
            yield
        finally:
            self.running.pop(me, None)

    def stop(self) -> None:
        """The process is exiting: no new call starts, the queries running are interrupted (a
        thread still inside DuckDB when the interpreter ends would abort the process)."""
        self.stopping = True
        for src in list(self.running.values()):
            with contextlib.suppress(Exception):
                src.con.interrupt()

    def sql(self, text: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        """(columns, at most `limit` rows, truncated) of one checked read-only query (the HTTP
        API's guard: one SELECT, no stdf_* function reading files by path, no SQL given as text)."""
        from stdf_duck.api.sql_guard import check_sql

        cap = max(1, min(int(limit), SQL_MAX_ROWS))
        with self.source() as src:
            check_sql(src.con, text, self.macros)
            raw = getattr(src.con, "connection", src.con)
            run = self.db.time_limit(src.con) if self.db is not None else contextlib.nullcontext()
            with run:
                raw.execute(text)
                columns = [d[0] for d in raw.description or []]
                rows = raw.fetchmany(cap + 1)
        return columns, rows[:cap], len(rows) > cap

    def scratch_path(self, suffix: str) -> str:
        return os.path.join(self.scratch, f"{uuid.uuid4().hex}{suffix}")

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
        if self.files is not None:
            self.files.close()
            shutil.rmtree(self.scratch, ignore_errors=True)


def source_items() -> list[str]:
    """The dashboard's source from the environment (SOURCE_ENV) or the script's arguments."""
    import sys

    text = os.environ.get(SOURCE_ENV)
    items = json.loads(text) if text else [a for a in sys.argv[1:] if not a.startswith("-")]
    if not items:
        raise ValueError(f"no source: run `stdf-duck web ARCHIVE` or `stdf-duck web FILES...` (or set {SOURCE_ENV})")
    return [os.fspath(p) for p in items]


@st.cache_resource(show_spinner=False)
def _open(key: str) -> Backend:
    return Backend(json.loads(key))


def backend() -> Backend:
    """The process's open source (one per source, shared by every session)."""
    return _open(json.dumps(source_items()))


def _kw(kw: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((kw or {}).items()))


@st.cache_data(show_spinner=False, max_entries=512)
def _table(
    key: str, gen: tuple[Any, ...], name: str, f: Filters, wafer: bool, kw: tuple[tuple[str, Any], ...]
) -> pd.DataFrame:
    with _open(key).source() as src:
        return getattr(analysis, name)(src, **dict(kw), **f.kwargs(wafer=wafer)).df()


def table(name: str, f: Filters, *, wafer: bool = True, **kw: Any) -> pd.DataFrame:
    """The DataFrame of `stdf_duck.analysis.<name>(source, **filters, **kw)`, cached."""
    b = backend()
    return _table(b.key, b.generation(), name, f, wafer, _kw(kw))


@st.cache_data(show_spinner=False, max_entries=512)
def _figure(
    key: str, gen: tuple[Any, ...], name: str, f: Filters, wafer: bool, kw: tuple[tuple[str, Any], ...]
) -> dict[str, Any]:
    with _open(key).source() as src:
        return plots.spec(getattr(plots, name)(src, **dict(kw), **f.kwargs(wafer=wafer)))


def figure(name: str, f: Filters, *, wafer: bool = True, **kw: Any) -> dict[str, Any]:
    """The Vega-Lite spec of `stdf_duck.plots.<name>(source, **filters, **kw)`, cached."""
    b = backend()
    return _figure(b.key, b.generation(), name, f, wafer, _kw(kw))


def show(name: str, f: Filters, *, wafer: bool = True, key: str | None = None, **kw: Any) -> Any:
    """Draw a figure of stdf_duck.plots (st.vega_lite_chart); a figure without data says why.
    With `key`, the chart's selections rerun the page and the selection state is returned."""
    try:
        spec = figure(name, f, wafer=wafer, **kw)
    except ValueError as e:
        st.info(f"{name.replace('_', ' ')}: {e}")
        return None
    # the figure's own size (Streamlit's default "fit" squeezes the plot to make room for a legend:
    # a wafer map would no longer be round)
    spec = {**spec, "autosize": {"type": "pad", "contains": "padding"}}
    if key is None:
        st.vega_lite_chart(spec, theme=None, width="content")
        return None
    return st.vega_lite_chart(spec, theme=None, width="content", key=key, on_select="rerun")


@st.cache_data(show_spinner=False, max_entries=256)
def _die_results(key: str, gen: tuple[Any, ...], f: Filters, x: int, y: int) -> pd.DataFrame:
    with _open(key).source() as src:
        rel = analysis.test_results(src, **f.kwargs())
        return rel.filter(f"x_coord = {int(x)} AND y_coord = {int(y)}").order("part_index, test_num, pin_index").df()


def die_results(f: Filters, x: int, y: int) -> pd.DataFrame:
    """The results of the final die at (x, y) of the selection (stdf_test_results), cached."""
    b = backend()
    return _die_results(b.key, b.generation(), f, x, y)


@st.cache_data(show_spinner=False, max_entries=256)
def _query(key: str, gen: tuple[Any, ...], sql: str) -> pd.DataFrame:
    with _open(key).source() as src:
        return src.sql(sql).df()


def query(sql: str) -> pd.DataFrame:
    """A fixed query of the dashboard on the source's views (the files ledger), cached."""
    b = backend()
    return _query(b.key, b.generation(), sql)


def pct(v: Any) -> str:
    """A fraction as a percentage with one decimal ('86.4%'), '-' when unknown."""
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return "-"
    return f"{100 * float(v):.1f}%"


__all__ = ["Backend", "Filters", "backend", "die_results", "figure", "pct", "query", "show", "source_items", "table"]
