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
from typing import Any

_default: Any = None


def default_connection() -> Any:
    """The connection `%%stdf` uses when none is named (created on first use)."""
    global _default
    if _default is None:
        from ._duck import connect

        _default = connect()
    return _default


def run_cell(line: str, cell: str, user_ns: dict[str, Any] | None = None) -> Any:
    parser = argparse.ArgumentParser(prog="%%stdf", add_help=False)
    parser.add_argument("-c", "--connection", default=None)
    parser.add_argument("-o", "--out", default=None)
    args = parser.parse_args(shlex.split(line))
    ns = user_ns if user_ns is not None else {}
    if args.connection:
        from ._duck import install

        con = install(ns[args.connection])
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
