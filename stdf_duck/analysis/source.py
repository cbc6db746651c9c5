"""Where an analysis reads: an archive (its views) or STDF files (views over the stdf_* table
functions), on a stdf_duck connection that has the macros of sql/analysis/.

Every analysis macro reads the relations `<src>parts`, `<src>files`, `<src>results`,
`<src>tests` (and `<src>wafers` for maps): an archive has them as views; for files, `Source`
makes temporary views of those names over `stdf_<table>([paths])`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from .._duck import StdfConnection, StdfRelation
from ..archive._sql import sql_literal

#: the relations an analysis source provides (views of an archive, or of stdf_* over files)
SOURCE_TABLES = ("parts", "files", "results", "tests", "bins", "wafers")

#: what a user may name as a source: a path, a glob, a list of them, an archive folder, a Source
SourceLike = "Source | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"


def is_archive(path: str | os.PathLike[str]) -> bool:
    """A folder holding an archive's catalog (DIR/archive.duckdb)."""
    from ..archive.catalog import DB_NAME

    return os.path.isdir(path) and os.path.isfile(os.path.join(path, DB_NAME))


class Source:
    """An open analysis source: `con` (a stdf_duck connection with the analysis macros) and the
    relations of SOURCE_TABLES on it. Close it (or use `with`) when done.

    `Source("arch/")` reads an archive; `Source(["lot1.stdf", "retest/*.stdf.gz"])` reads files
    (globs, folders and compressed files as everywhere in stdf_duck); `archive=` names an archive
    explicitly. `on_error` is the table functions' (files only).
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        *,
        archive: str | os.PathLike[str] | None = None,
        on_error: str = "raise",
    ) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        items = [os.fspath(p) for p in paths or []]
        if archive is None and len(items) == 1 and is_archive(items[0]):
            archive, items = items[0], []
        if archive is not None and items:
            raise ValueError("an analysis reads either an archive or files, not both")
        if archive is None and not items:
            raise ValueError("an analysis needs STDF files or an archive")
        self.archive = os.fspath(archive) if archive is not None else None
        self.paths = items
        self.con: StdfConnection = _open(self.archive, items, on_error)
        # what DuckDB spills (a pivot under its memory limit, a sort larger than memory) goes to a
        # folder of this Source, removed on close (DuckDB's default is ./.tmp of the working directory)
        self._spill = tempfile.mkdtemp(prefix="stdf-duck-spill-")
        self.con.execute(f"SET temp_directory = {sql_literal(self._spill)}")

    @property
    def kind(self) -> str:
        return "archive" if self.archive is not None else "files"

    def sql(self, query: str) -> StdfRelation:
        """A relation of `query` on this source's connection."""
        rel = self.con.sql(query)
        if not isinstance(rel, StdfRelation):  # pragma: no cover - a statement, not a query
            raise ValueError(f"not a query: {query}")
        return rel

    def close(self) -> None:
        self.con.close()
        spill = getattr(self, "_spill", None)  # a Source made over another's connection has none
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        what = self.archive if self.archive is not None else self.paths
        return f"Source({what!r})"


def _open(archive: str | None, paths: list[str], on_error: str) -> StdfConnection:
    import stdf_duck

    if archive is not None:
        from ..archive import Archive
        from ..archive.catalog import attach_archive, relation_macro

        con = stdf_duck.connect()
        try:
            root = Archive.locate(archive).root
        except BaseException:
            con.close()
            raise
        attach_archive(con, root)
        _missing_views(con)
        # the archive's Parquet footers are read once, not at every query (1,020 files: `SELECT
        # count(*) FROM files` 369 -> 39 ms); DuckDB reads a footer again when its file is newer
        con.execute("SET parquet_metadata_cache = true")
        macro = relation_macro(con, root)  # one lot's analyses read that lot's files only
        if macro is not None:
            con.execute(macro)
        return con
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', not {on_error!r}")
    con = stdf_duck.connect()
    files = _list_literal(paths)
    for t in SOURCE_TABLES:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {t} AS SELECT * FROM stdf_{t}({files}, on_error := '{on_error}')")
    return con


def _missing_views(con: StdfConnection) -> None:
    """An archive without some table (no wafers yet, say) gets an empty view of that name with the
    table function's columns, so that every analysis binds."""
    import pyarrow as pa

    from .. import _native

    have = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    for t in SOURCE_TABLES:
        if t not in have:
            empty = pa.schema(_native.TableSource(t, [])).empty_table()
            con.register(f"__stdf_empty_{t}", empty)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {t} AS SELECT * FROM __stdf_empty_{t}")


def _list_literal(items: Iterable[str]) -> str:
    return "[" + ", ".join(sql_literal(p) for p in items) + "]"


def as_source(source: Any, on_error: str = "raise") -> tuple[Source, bool]:
    """(the Source, whether the caller opened it and must close it)."""
    if isinstance(source, Source):
        return source, False
    return Source(source, on_error=on_error), True


def literal(v: Any) -> str:
    """An SQL literal of a macro argument: NULL, booleans, numbers, strings, dates, lists."""
    import datetime as _dt

    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and v != v:
            raise ValueError("NaN is not a valid analysis argument")
        return repr(v)
    if isinstance(v, (_dt.date, _dt.datetime)):
        return sql_literal(v.isoformat())
    if isinstance(v, str):
        return sql_literal(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{sql_literal(str(k))}: {literal(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    raise TypeError(f"cannot pass {type(v).__name__} to an analysis")
