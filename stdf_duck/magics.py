"""Jupyter: `%load_ext stdf_duck` gives a `%%stdf` cell magic that runs the cell's SQL (with
every stdf_* function available) and shows the result as a DataFrame.

    %%stdf
    SELECT hard_bin, count(*) FROM stdf_parts('lot*.stdf.gz') GROUP BY ALL

    %%stdf --connection con --out df
    SELECT ...            -- run on the notebook's `con`, keep the DataFrame in `df`
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

_default: Any = None


def default_connection() -> Any:
    """The connection `%%stdf` uses when none is named (created on first use)."""
    global _default
    if _default is None:
        from ._duck import connect

        _default = connect()
    return _default


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _usage(f"%%stdf: {message} (usage: %%stdf [--connection NAME] [--out NAME])")


def _usage(message: str) -> Exception:
    """IPython shows a UsageError as one line, without a traceback."""
    try:
        from IPython.core.error import UsageError
    except ImportError:
        return ValueError(message)
    return UsageError(message)


def _named_connection(name: str, ns: dict[str, Any]) -> Any:
    import duckdb

    from ._duck import StdfConnection, install

    if name not in ns:
        raise _usage(f"%%stdf --connection {name}: no variable named {name!r} in the notebook")
    con = ns[name]
    if not isinstance(con, (StdfConnection, duckdb.DuckDBPyConnection)):
        raise _usage(f"%%stdf --connection {name}: {name!r} is a {type(con).__name__}, not a DuckDB connection")
    return install(con)


def run_cell(line: str, cell: str, user_ns: dict[str, Any] | None = None) -> Any:
    parser = _Parser(prog="%%stdf", add_help=False)
    parser.add_argument("-c", "--connection", default=None)
    parser.add_argument("-o", "--out", default=None)
    args = parser.parse_args(shlex.split(line))
    ns = user_ns if user_ns is not None else {}
    if args.connection:
        con = _named_connection(args.connection, ns)
        ns[args.connection] = con
    else:
        con = default_connection()
    df = con.sql(cell).df()
    if args.out:
        ns[args.out] = df
    return df


def load_ipython_extension(ipython: Any) -> None:
    def stdf(line: str, cell: str) -> Any:
        return run_cell(line, cell, ipython.user_ns)

    ipython.register_magic_function(stdf, magic_kind="cell", magic_name="stdf")
