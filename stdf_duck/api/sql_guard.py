"""What `POST /sql` runs: one query (SELECT, WITH, FROM-first, DESCRIBE, SUMMARIZE), read by
DuckDB's own parser, that calls no function reading outside the archive's views.

The connection is the second wall (no external access, the configuration locked: see `db`); this
one refuses what DuckDB would allow there: several statements, any statement but a query, the
stdf_* table functions (they decode any STDF file by path: only the analysis macros, which read
the archive's views, may be called), and the functions that run SQL given as text (`query`,
`query_table`, `json_execute_serialized_sql`), which would hide a call from this check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: functions that run SQL given as text or name relations by string: never from POST /sql
FORBIDDEN_FUNCTIONS = frozenset({"query", "query_table", "json_execute_serialized_sql"})


class SqlRefused(ValueError):
    """A statement POST /sql does not run (a 400 or 403 answer)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_sql(con: Any, sql: str, macros: frozenset[str]) -> None:
    """Raise SqlRefused unless `sql` is one query calling only allowed functions (`macros`: the
    names of the connection's macros, the only stdf_* functions allowed)."""
    if not sql.strip():
        raise SqlRefused("no SQL given")
    raw = getattr(con, "connection", con)
    import duckdb

    try:
        statements = raw.extract_statements(sql)
    except duckdb.Error as e:
        raise SqlRefused(f"cannot parse the SQL: {_first_line(e)}") from None
    if len(statements) != 1:
        raise SqlRefused(f"one statement only, not {len(statements)}")
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind != "SELECT":
        raise SqlRefused(f"only a query (SELECT, WITH, FROM) may run here; this is a {kind} statement", 403)
    tree = _tree(raw, sql)
    for name in functions(tree):
        low = name.lower()
        if low in FORBIDDEN_FUNCTIONS:
            raise SqlRefused(f"{name}() is not allowed here", 403)
        if low.startswith("stdf_") and low not in macros:
            raise SqlRefused(
                f"{name}() reads STDF files by path: query the archive's views (parts, results, ...) "
                "or the analysis macros (stdf_yield, ...)",
                403,
            )


def _tree(raw: Any, sql: str) -> Any:
    """The parsed statement as DuckDB serializes it (json_serialize_sql)."""
    text = raw.execute("SELECT json_serialize_sql($1)", [sql]).fetchall()[0][0]
    tree = json.loads(text)
    if tree.get("error"):  # a syntax error, or a statement it cannot render (PIVOT): not checked, not run
        raise SqlRefused(f"cannot run this SQL here: {tree.get('error_message', 'unknown error')}")
    return tree


def functions(tree: Any) -> Iterator[str]:
    """Every function name called anywhere in a serialized statement (scalar, aggregate, table)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.get("function_name")
            if isinstance(name, str):
                yield name
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
