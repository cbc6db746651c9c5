"""DuckDB connections with every stdf_* table function: the native extension when the
connection can load it, else the SQL-rewrite fallback (same results, a little slower)."""

from __future__ import annotations

import os
from importlib import resources
from typing import Any, Literal

from ._rewrite import RewriteError, rewrite

EXTENSION_FILE = "stdf.duckdb_extension"
Route = Literal["native", "rewrite"]


def extension_path() -> str | None:
    """Path of the bundled loadable extension (for the DuckDB CLI: `duckdb -unsigned`, then
    `LOAD '<path>'`), or None when this build does not ship it. `STDF_DUCK_EXTENSION` overrides."""
    env = os.environ.get("STDF_DUCK_EXTENSION")
    if env:
        return env if os.path.exists(env) else None
    p = resources.files("stdf_duck").joinpath(EXTENSION_FILE)
    try:
        return str(p) if p.is_file() else None
    except OSError:
        return None


def _sql_files() -> list[tuple[str, str]]:
    """The SQL shipped with the package (macros and views), in name order."""
    out = []
    d = resources.files("stdf_duck").joinpath("sql")
    if d.is_dir():
        for f in sorted(d.iterdir(), key=lambda x: x.name):
            if f.name.endswith(".sql"):
                out.append((f.name, f.read_text(encoding="utf-8")))
    return out


def _has_native(con: Any) -> bool:
    try:
        # the extension loaded under its own name: 1 ms (the function catalog below takes ~15 ms)
        rows = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'stdf'").fetchall()
        if rows and rows[0][0]:
            return True
        rows = con.execute(
            "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'stdf_results'"
        ).fetchall()
        return bool(rows and rows[0][0])
    except Exception:
        return False


class StdfConnection:
    """A DuckDB connection whose SQL may call stdf_* functions, served by the rewrite route.

    Has the methods of `duckdb.DuckDBPyConnection` (`execute`, `sql`, `query`, `cursor`, ...);
    anything not listed here is passed to the wrapped connection unchanged.
    """

    route: Route = "rewrite"

    def __init__(self, con: Any) -> None:
        self._con = con
        self._names: list[str] = []

    @property
    def connection(self) -> Any:
        """The wrapped duckdb connection."""
        return self._con

    def _run(self, method: str, query: str, *args: Any, **kwargs: Any) -> Any:
        import duckdb

        fn = getattr(self._con, method)
        if "stdf_" not in query.lower():
            return fn(query, *args, **kwargs)
        new_sql, names = rewrite(query, self._con.register)
        self._names.extend(names)
        try:
            return fn(new_sql, *args, **kwargs)
        except (duckdb.BinderException, duckdb.CatalogException):
            # the column analysis was too narrow: read every column
            new_sql, names = rewrite(query, self._con.register, project=False)
            self._names.extend(names)
            return fn(new_sql, *args, **kwargs)

    def execute(self, query: str, parameters: Any = None) -> StdfConnection:
        if parameters is None:
            self._run("execute", query)
        else:
            self._run("execute", query, parameters)
        return self

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return self._run("sql", query, *args, **kwargs)

    query = sql

    def cursor(self) -> StdfConnection:
        return StdfConnection(self._con.cursor())

    def close(self) -> None:
        for n in self._names:
            try:
                self._con.unregister(n)
            except Exception:
                pass
        self._names.clear()
        self._con.close()

    def __enter__(self) -> StdfConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __repr__(self) -> str:
        return f"<stdf_duck connection (rewrite route) over {self._con!r}>"


def _apply_sql(con: Any) -> None:
    for _name, text in _sql_files():
        con.execute(text)


def install(con: Any) -> Any:
    """Make stdf_* functions work on an existing DuckDB connection.

    Loads the native extension when the connection allows unsigned extensions (returns `con`
    itself); otherwise returns a StdfConnection serving them by SQL rewrite.
    """
    if isinstance(con, StdfConnection):
        return con
    if _has_native(con):
        _apply_sql(con)
        return con
    ext = extension_path()
    if ext is not None:
        try:
            con.execute(f"LOAD '{ext}'")
        except Exception:
            pass
        if _has_native(con):
            _apply_sql(con)
            return con
    wrapped = StdfConnection(con)
    _apply_sql(wrapped)
    return wrapped


def connect(database: str = ":memory:", read_only: bool = False, **config: Any) -> Any:
    """A DuckDB connection with every stdf_* function and the SQL of the package applied.

    `config` goes to `duckdb.connect(config=...)`; `allow_unsigned_extensions` defaults to True
    so the bundled native extension can be loaded.
    """
    import duckdb

    cfg = dict(config)
    cfg.setdefault("allow_unsigned_extensions", True)
    try:
        con = duckdb.connect(database, read_only=read_only, config=cfg)
    except duckdb.Error:
        cfg.pop("allow_unsigned_extensions", None)
        con = duckdb.connect(database, read_only=read_only, config=cfg)
    return install(con)


def route(con: Any) -> Route:
    """'native' when the connection runs stdf_* functions in the extension, else 'rewrite'."""
    if isinstance(con, StdfConnection):
        return "rewrite"
    if _has_native(con):
        return "native"
    raise ValueError("this connection has no stdf_* functions: call stdf_duck.install(con) first")


__all__ = ["RewriteError", "StdfConnection", "connect", "extension_path", "install", "route"]
