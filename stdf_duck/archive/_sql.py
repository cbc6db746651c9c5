"""SQL text of the archive (literals, the templates of sql/archive/) and named rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from string import Template
from typing import Any, TypeVar

from .._sqlsrc import sql_file

T = TypeVar("T")

_TEMPLATES: dict[str, Template] = {}


def sql_literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_template(name: str) -> Template:
    """sql/archive/<name>.sql, embedded in the native module."""
    t = _TEMPLATES.get(name)
    if t is None:
        t = _TEMPLATES[name] = Template(sql_file(f"archive/{name}.sql"))
    return t


def render(template: str, /, **values: str) -> str:
    """sql/archive/<template>.sql with its ${...} placeholders filled."""
    return sql_template(template).substitute(values)


def dicts(con: Any, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a query as dicts (keys: the cursor's column names)."""
    cur = con.execute(sql, list(params or []))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def named(con: Any, make: Callable[..., T], sql: str, params: Sequence[Any] | None = None) -> list[T]:
    """The rows of a query as `make(**row)` (a NamedTuple or dataclass whose fields are the
    query's column names): rows are read by name, never by position."""
    return [make(**d) for d in dicts(con, sql, params)]


def column(con: Any, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
    """The values of a one-column query."""
    cur = con.execute(sql, list(params or []))
    if len(cur.description) != 1:
        raise ValueError(f"a one-column query has {len(cur.description)} columns: {sql}")
    return [v for (v,) in cur.fetchall()]


def scalar(con: Any, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The one value of a one-row, one-column query (None when it has no row)."""
    values = column(con, sql, params)
    return values[0] if values else None
