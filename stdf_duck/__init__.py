"""stdf_duck: STDF files queryable in place by DuckDB, from a Rust decoder streaming Arrow."""

from __future__ import annotations

from . import _native
from ._duck import StdfConnection, StdfRelation, connect, extension_path, install, route
from ._errors import (
    StdfError,
    StdfFileNotFoundError,
    StdfFormatError,
    StdfIOError,
    StdfPermissionError,
    StdfTruncatedError,
    StdfUnsupportedError,
    StdfWarning,
)
from ._read import TABLES, ParsedStdf, StdfTable, parse_stdf, parse_to_parquet, read
from ._rewrite import RewriteError

__version__: str = _native.__version__


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext stdf_duck`: registers the `%%stdf` cell magic."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


__all__ = [
    "RewriteError",
    "StdfConnection",
    "StdfRelation",
    "connect",
    "extension_path",
    "install",
    "load_ipython_extension",
    "route",
    "TABLES",
    "ParsedStdf",
    "StdfError",
    "StdfFileNotFoundError",
    "StdfFormatError",
    "StdfIOError",
    "StdfPermissionError",
    "StdfTable",
    "StdfTruncatedError",
    "StdfUnsupportedError",
    "StdfWarning",
    "__version__",
    "parse_stdf",
    "parse_to_parquet",
    "read",
]
