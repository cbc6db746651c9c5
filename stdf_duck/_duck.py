"""DuckDB connections with every stdf_* table function: the native extension when the
connection can load it, else the SQL-rewrite fallback (same results, a little slower).

Both routes are served through one wrapper, `StdfConnection`, so that they behave the same: the
STDF errors of any statement are raised as `StdfError` subclasses (that are `duckdb.Error`s too)
with `.path`, `.offset` and `.record`, and a statement sequence that works on a plain DuckDB
connection works on either route.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from types import FrameType
from typing import Any, Literal

from ._errors import StdfError, StdfFileNotFoundError, StdfWarning, as_sql_error, from_duckdb
from ._rewrite import RewriteError, rewrite
from ._sqlsrc import analysis_sql

EXTENSION_FILE = "stdf.duckdb_extension"
Route = Literal["native", "rewrite"]


def _missing_extension() -> str:
    env = os.environ.get("STDF_DUCK_EXTENSION")
    where = f"STDF_DUCK_EXTENSION={env} does not exist" if env else f"{EXTENSION_FILE} is not in the installed package"
    return (
        f"this stdf_duck has no DuckDB extension ({where}): stdf_* SQL runs on the slower rewrite route and the "
        "DuckDB CLI cannot load it; reinstall from the source folder with `pip install .` (needs a Rust toolchain), "
        "which builds the extension into the wheel"
    )


def extension_path(required: bool = False) -> str | None:
    """Path of the bundled loadable extension (for the DuckDB CLI: `duckdb -unsigned`, then
    `LOAD '<path>'`), or None when this build does not ship it; with `required=True`, a missing
    extension raises StdfFileNotFoundError saying why. `STDF_DUCK_EXTENSION` overrides."""
    env = os.environ.get("STDF_DUCK_EXTENSION")
    found: str | None = None
    if env:
        found = env if os.path.exists(env) else None
    else:
        p = resources.files("stdf_duck").joinpath(EXTENSION_FILE)
        try:
            found = str(p) if p.is_file() else None
        except OSError:
            found = None
    if found is None and required:
        raise StdfFileNotFoundError(_missing_extension(), path=env or EXTENSION_FILE)
    return found


def _has_native(con: Any) -> bool:
    try:
        # the extension loaded under its own name: 1 ms (the function catalog below takes ~15 ms)
        rows = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'stdf'").fetchall()
        if rows and rows[0][0]:
            return True
        rows = con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'stdf_results'").fetchall()
        return bool(rows and rows[0][0])
    except Exception:
        return False


_CALL = compile("__stdf_call__(*__stdf_args__, **__stdf_kwargs__)", "<stdf_duck>", "eval")


def _in_caller_scope(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], extra: dict[str, Any] | None = None
) -> Any:
    """`fn(*args, **kwargs)` called from a frame that sees what the first frame outside this module
    sees (plus `extra`): DuckDB finds the Python objects a statement names (`FROM my_df`) in the
    calling frame. A StdfRelation there is seen as the DuckDB relation it wraps."""
    f: FrameType | None = sys._getframe(1)
    while f is not None and f.f_globals.get("__name__") == __name__:
        f = f.f_back
    if f is None:
        return fn(*args, **kwargs)
    scope = {k: _unwrapped(v) for k, v in f.f_locals.items()}
    g = f.f_globals
    if any(isinstance(v, StdfRelation) for v in g.values()):
        g = {k: _unwrapped(v) for k, v in g.items()}
    scope.update(extra or {})
    scope.update(__stdf_call__=fn, __stdf_args__=args, __stdf_kwargs__=kwargs)
    return eval(_CALL, g, scope)


def _unwrapped(v: Any) -> Any:
    if isinstance(v, StdfRelation):
        return v.relation
    if isinstance(v, StdfConnection):
        return v.connection
    return v


class StdfConnection:
    """A DuckDB connection whose SQL may call stdf_* functions, on either route.

    Has the methods of `duckdb.DuckDBPyConnection` (`execute`, `sql`, `query`, `cursor`, `fetchone`,
    `df`, ...), forwarded to the wrapped connection; relations come back as `StdfRelation`s. An STDF
    error raises the matching `StdfError` subclass, which is also a `duckdb.Error`.
    `.connection` is the wrapped duckdb connection (e.g. for `duckdb.set_default_connection`).
    """

    def __init__(self, con: Any, route: Route = "rewrite") -> None:
        self._con = con
        self.route: Route = route
        self._sources: dict[str, Any] = {}  # rewrite route: registered name -> StdfTable

    @property
    def connection(self) -> Any:
        """The wrapped duckdb connection."""
        return self._con

    # -- errors and results ------------------------------------------------------------------

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        """STDF errors (from the extension, an Arrow stream or the rewrite) as their SQL class."""
        import duckdb

        try:
            yield
        except StdfError as e:
            raise as_sql_error(e) from None
        except duckdb.Error as e:
            found = from_duckdb(e, (t._source.last_error() for t in reversed(self._sources.values())))
            if found is None:
                raise
            raise found from None

    def _wrap(self, obj: Any) -> Any:
        import duckdb

        if obj is self._con:
            return self
        if isinstance(obj, duckdb.DuckDBPyRelation) or type(obj).__name__ == "GroupedRelation":
            return StdfRelation(obj, self)
        return obj

    def _invoke(
        self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> Any:
        args = tuple(_unwrapped(a) for a in args)
        kwargs = {k: _unwrapped(v) for k, v in kwargs.items()}
        with self._mapped():
            return self._wrap(_in_caller_scope(fn, args, kwargs, extra))

    def _statement(self, method: str, query: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a statement; on the rewrite route its stdf_* calls become Arrow streams."""
        import duckdb

        fn = getattr(self._con, method)
        if self.route == "native" or not isinstance(query, str) or "stdf_" not in query.lower():
            return self._invoke(fn, (query, *args), kwargs)
        if method in ("execute", "executemany"):
            # as a plain execute() does, drop the unfinished result of the previous one (a write
            # has already run to its end): registering the streams needs the connection free
            abort = getattr(self._con, "abort", None)
            if abort is not None:
                abort()
        new_sql, scope = self._rewritten(query, project=True)
        try:
            return self._invoke(fn, (new_sql, *args), kwargs, scope)
        except (duckdb.BinderException, duckdb.CatalogException):
            # the column analysis was too narrow: read every column
            new_sql, scope = self._rewritten(query, project=False)
            return self._invoke(fn, (new_sql, *args), kwargs, scope)

    def _rewritten(self, query: str, project: bool) -> tuple[str, dict[str, Any]]:
        """The statement with its stdf_* calls replaced by names of Arrow streams, registered on
        the connection. While an unfinished execute() result holds the connection (nothing may be
        registered then), the streams are only handed to the statement as Python variables, as
        DuckDB does for any object the SQL names: the statement fails or not as it would on a
        plain connection. Returns (SQL, {name: stream} when not registered)."""
        import duckdb

        in_use = getattr(duckdb, "ResourceInUseException", ())  # DuckDB 2.0 on
        with self._mapped():
            try:
                return rewrite(query, self._keep(register=True), project=project)[0], {}
            except in_use:
                captured: dict[str, Any] = {}
                return rewrite(query, self._keep(register=False, into=captured), project=project)[0], captured

    def _keep(self, register: bool, into: dict[str, Any] | None = None) -> Any:
        def keep(name: str, source: Any) -> None:
            if register:
                self._con.register(name, source)
            self._sources[name] = source
            if into is not None:
                into[name] = source

        return keep

    # -- the statement methods of duckdb.DuckDBPyConnection -----------------------------------

    def execute(self, query: Any, parameters: Any = None) -> StdfConnection:
        args = () if parameters is None else (parameters,)
        self._statement("execute", query, args, {})
        return self

    def executemany(self, query: Any, parameters: Any = None) -> StdfConnection:
        args = () if parameters is None else (parameters,)
        self._statement("executemany", query, args, {})
        return self

    def sql(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return self._statement("sql", query, args, kwargs)

    def query(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return self._statement("query", query, args, kwargs)

    def from_query(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return self._statement("from_query", query, args, kwargs)

    def cursor(self) -> StdfConnection:
        return StdfConnection(self._con.cursor(), self.route)

    def close(self) -> None:
        for n in self._sources:
            try:
                self._con.unregister(n)
            except Exception:
                pass
        self._sources.clear()
        self._con.close()

    def __enter__(self) -> StdfConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name in ("_con", "_sources", "route"):  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        attr = getattr(self._con, name)
        if not callable(attr):
            return attr

        def forwarded(*args: Any, **kwargs: Any) -> Any:
            return self._invoke(attr, args, kwargs)

        forwarded.__name__ = name
        forwarded.__doc__ = getattr(attr, "__doc__", None)
        return forwarded

    def __repr__(self) -> str:
        return f"<stdf_duck connection ({self.route} route) over {self._con!r}>"


class StdfRelation:
    """A duckdb relation from a `StdfConnection`: every method is the relation's, and raises
    StdfError subclasses for STDF errors; relations it returns are StdfRelations too.
    `.relation` is the wrapped duckdb relation."""

    __slots__ = ("_rel", "_owner")

    def __init__(self, rel: Any, owner: StdfConnection) -> None:
        self._rel = rel
        self._owner = owner

    @property
    def relation(self) -> Any:
        return self._rel

    def __getattr__(self, name: str) -> Any:
        if name in StdfRelation.__slots__:  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        attr = getattr(self._rel, name)
        if not callable(attr):
            return self._owner._wrap(attr)

        def forwarded(*args: Any, **kwargs: Any) -> Any:
            return self._owner._invoke(attr, args, kwargs)

        forwarded.__name__ = name
        forwarded.__doc__ = getattr(attr, "__doc__", None)
        return forwarded

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> Any:
        return self._owner._invoke(self._rel.__arrow_c_stream__, (requested_schema,), {})

    def __getitem__(self, key: Any) -> Any:
        return self._owner._invoke(self._rel.__getitem__, (key,), {})

    def __contains__(self, name: object) -> bool:
        return bool(self._owner._invoke(self._rel.__contains__, (name,), {}))

    def __len__(self) -> int:
        return int(self._owner._invoke(self._rel.__len__, (), {}))

    def __str__(self) -> str:
        return str(self._owner._invoke(self._rel.__str__, (), {}))

    def __repr__(self) -> str:
        return str(self._owner._invoke(self._rel.__repr__, (), {}))

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._rel)) | {"relation"})


def _apply_sql(con: Any) -> None:
    """The analysis macros of sql/analysis/ on `con`. In an in-memory database they are plain
    macros (cursors see them); in a database file they are TEMP macros of this connection, so
    that connecting never writes into the user's file (nor fails on a read-only one)."""
    rows = con.execute(
        "SELECT path IS NULL AND NOT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    in_memory = bool(rows and rows[0][0])
    for _name, text in analysis_sql():
        con.execute(text if in_memory else text.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))


def _unsigned_allowed(con: Any) -> bool:
    try:
        return (
            str(con.execute("SELECT current_setting('allow_unsigned_extensions')").fetchall()[0][0]).lower() == "true"
        )
    except Exception:
        return True


def _load_native(con: Any) -> bool:
    """Load the bundled extension into `con`; a warning says why when it cannot be."""
    if _has_native(con):
        return True
    if not _unsigned_allowed(con):
        return False  # the documented fallback for a connection made without the setting
    ext = extension_path()
    if ext is None:
        warnings.warn(_missing_extension(), StdfWarning, stacklevel=4)
        return False
    try:
        con.execute(f"LOAD '{ext}'")
    except Exception as e:
        warnings.warn(
            f"cannot load the DuckDB extension {ext} ({e}): stdf_* SQL runs on the slower rewrite route",
            StdfWarning,
            stacklevel=4,
        )
        return False
    return _has_native(con)


def install(con: Any) -> StdfConnection:
    """Make stdf_* functions work on an existing DuckDB connection.

    Loads the native extension when the connection allows unsigned extensions; otherwise stdf_*
    calls are served by SQL rewrite. Either way returns a StdfConnection over `con`.
    """
    if isinstance(con, StdfConnection):
        return con
    if _load_native(con):
        _apply_sql(con)
        return StdfConnection(con, "native")
    wrapped = StdfConnection(con, "rewrite")
    _apply_sql(wrapped)
    return wrapped


def connect(database: str = ":memory:", read_only: bool = False, **config: Any) -> StdfConnection:
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
        return con.route
    if _has_native(con):
        return "native"
    raise ValueError("this connection has no stdf_* functions: call stdf_duck.install(con) first")


__all__ = ["RewriteError", "StdfConnection", "StdfRelation", "connect", "extension_path", "install", "route"]
