"""Exception hierarchy: every error names the file, the byte offset and the record type."""

from __future__ import annotations

from typing import Any


class StdfError(Exception):
    """Base class of every stdf_duck error."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        offset: int | None = None,
        record: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.offset = offset
        self.record = record


class StdfFormatError(StdfError, ValueError):
    """The file is not STDF, or its structure is impossible."""


class StdfTruncatedError(StdfFormatError):
    """The stream ends inside a record (a file still being written, or a crashed tester)."""


class StdfUnsupportedError(StdfError, NotImplementedError):
    """Valid STDF that stdf_duck does not read (STDF V3)."""


class StdfIOError(StdfError, OSError):
    """The file cannot be opened or read (or its compressed container is broken)."""


class StdfFileNotFoundError(StdfIOError, FileNotFoundError):
    """The file (or every file of a glob) does not exist."""


class StdfPermissionError(StdfIOError, PermissionError):
    """The file cannot be read for lack of permission."""


def from_native(args: tuple[Any, ...]) -> StdfError:
    """Build the matching exception from a native error's args
    (kind, message, path, offset, record, io_kind)."""
    kind, message, path, offset, record, io_kind = (tuple(args) + (None,) * 6)[:6]
    cls: type[StdfError]
    if kind == "truncated":
        cls = StdfTruncatedError
    elif kind == "format":
        cls = StdfFormatError
    elif kind == "unsupported":
        cls = StdfUnsupportedError
    elif io_kind == "NotFound":
        cls = StdfFileNotFoundError
    elif io_kind == "PermissionDenied":
        cls = StdfPermissionError
    else:
        cls = StdfIOError
    return cls(str(message), path=path, offset=offset, record=record)
