"""stdf_duck: STDF files queryable in place by DuckDB, from a Rust decoder streaming Arrow."""

from __future__ import annotations

from . import _native
from ._errors import (
    StdfError,
    StdfFileNotFoundError,
    StdfFormatError,
    StdfIOError,
    StdfPermissionError,
    StdfTruncatedError,
    StdfUnsupportedError,
)
from ._read import TABLES, ParsedStdf, StdfTable, parse_stdf, parse_to_parquet, read

__version__: str = _native.__version__

__all__ = [
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
    "__version__",
    "parse_stdf",
    "parse_to_parquet",
    "read",
]
