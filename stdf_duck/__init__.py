"""stdf_duck: STDF files queryable in place by DuckDB, from a Rust decoder streaming Arrow."""

from __future__ import annotations

import os as _os

# The native module allocates with mimalloc: memory a phase frees goes back to the system after
# 100 ms instead of 1 s, which keeps a materialize worker's peak RSS near its live memory (set
# before the module loads; a value in the environment wins).
_os.environ.setdefault("MIMALLOC_PURGE_DELAY", "100")

from . import _native  # noqa: E402
from ._duck import StdfConnection, StdfRelation, connect, extension_path, install, route
from ._errors import (
    ArchiveBusyError,
    ArchiveError,
    PermanentError,
    SourceError,
    StdfDuckError,
    StdfError,
    StdfFileNotFoundError,
    StdfFormatError,
    StdfIOError,
    StdfPermissionError,
    StdfTruncatedError,
    StdfUnsupportedError,
    StdfWarning,
    UnsafeNameError,
    VerifyError,
)
from ._read import TABLES, ParsedStdf, StdfTable, file_info, parse_stdf, parse_to_parquet, read
from ._rewrite import RewriteError
from .config import ConfigError

__version__: str = _native.__version__


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext stdf_duck`: registers the `%%stdf` cell magic."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


__all__ = [
    "ArchiveBusyError",
    "ArchiveError",
    "ConfigError",
    "PermanentError",
    "SourceError",
    "StdfDuckError",
    "UnsafeNameError",
    "VerifyError",
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
    "file_info",
    "parse_stdf",
    "parse_to_parquet",
    "read",
]
