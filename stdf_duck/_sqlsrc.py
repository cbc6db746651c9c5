"""The SQL of the repository's `sql/` folder, as the native module embedded it at build time:
the analysis macros (`analysis/*.sql`, applied to every connection and archive catalog) and the
archive templates (`archive/*.sql`). The same text is embedded in the DuckDB extension, which runs
the analysis files at `LOAD`: one definition, every door.

`STDF_DUCK_SQL_DIR=<folder>` reads the files from a folder instead (to try an edit of `sql/`
without rebuilding the native module)."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

ANALYSIS_DIR = "analysis/"


@cache
def _embedded() -> tuple[tuple[str, str], ...]:
    from . import _native

    return tuple(_native.sql_files())


def sql_files() -> list[tuple[str, str]]:
    """Every (path under sql/, text), in path order."""
    override = os.environ.get("STDF_DUCK_SQL_DIR")
    if override:
        root = Path(override)
        return [(p.relative_to(root).as_posix(), p.read_text(encoding="utf-8")) for p in sorted(root.rglob("*.sql"))]
    return list(_embedded())


def sql_file(path: str) -> str:
    """The text of sql/<path> (KeyError when it does not exist)."""
    for p, text in sql_files():
        if p == path:
            return text
    raise KeyError(f"sql/{path} is not part of this build")


def analysis_sql() -> list[tuple[str, str]]:
    """The analysis files (sql/analysis/*.sql), in the order they are applied."""
    return [(p, t) for p, t in sql_files() if p.startswith(ANALYSIS_DIR)]


def macro_names() -> frozenset[str]:
    """The names of the analysis macros (lower case), e.g. stdf_yield."""
    return _macro_names(os.environ.get("STDF_DUCK_SQL_DIR"))


@cache
def _macro_names(_source: str | None) -> frozenset[str]:
    """macro_names() of one SQL source (the embedded text, or that folder): parsed once."""
    pat = re.compile(r"CREATE\s+OR\s+REPLACE\s+MACRO\s+(\w+)", re.I)
    return frozenset(m.lower() for _p, t in analysis_sql() for m in pat.findall(t))
