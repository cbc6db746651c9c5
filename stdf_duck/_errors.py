"""Exception hierarchy, rooted at `StdfDuckError`.

Decoding errors (`StdfError` and its subclasses) name the file, the byte offset and the record
type. The application's errors (archive, sources, sync, configuration, SQL rewrite) derive from
the same root and keep the standard base they always had (`VerifyError` is a `ValueError`, ...),
so `except ValueError` goes on catching them. `one_line` is the one rule for showing an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any


class StdfDuckError(Exception):
    """The root of every error stdf_duck raises on purpose (`except StdfDuckError` catches them all)."""


class StdfError(StdfDuckError):
    """Base class of the decoding errors: the file, the byte offset and the record type."""

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


class ArchiveError(StdfDuckError):
    """Not an archive, or an archive that cannot be used."""


class ArchiveBusyError(ArchiveError):
    """Another process is writing the archive."""


class SourceError(StdfDuckError):
    """A source given on the command line does not exist or matches nothing."""


class VerifyError(StdfDuckError, ValueError):
    """A file that is not STDF, is damaged, or decompresses beyond the bounds."""


class UnsafeNameError(StdfDuckError, ValueError):
    """A remote name that would escape the staging area."""


class PermanentError(StdfDuckError):
    """A transfer error retrying will not fix (no such file, permission denied, bad login)."""


class StdfWarning(UserWarning):
    """stdf_duck works, but not as well as it could (e.g. no DuckDB extension: the rewrite route)."""


#: opens the machine-readable part of an STDF error in a DuckDB error message, written by the
#: extension (`stdf_message` in rust/stdf-duckdb/src/table.rs): ` [stdf_error {json}]`
MARKER = "[stdf_error "

ErrorArgs = tuple[Any, ...]  # NativeError args: (kind, message, path, offset, record, io_kind)


def _class_of(kind: object, io_kind: object) -> type[StdfError]:
    if kind == "truncated":
        return StdfTruncatedError
    if kind == "format":
        return StdfFormatError
    if kind == "unsupported":
        return StdfUnsupportedError
    if io_kind == "NotFound":
        return StdfFileNotFoundError
    if io_kind == "PermissionDenied":
        return StdfPermissionError
    return StdfIOError


def from_native(args: ErrorArgs) -> StdfError:
    """Build the matching exception from a native error's args
    (kind, message, path, offset, record, io_kind)."""
    kind, message, path, offset, record, io_kind = (tuple(args) + (None,) * 6)[:6]
    return _class_of(kind, io_kind)(str(message), path=path, offset=offset, record=record)


_sql_classes: dict[type[StdfError], type[StdfError]] = {}


def sql_class(cls: type[StdfError]) -> type[StdfError]:
    """The class of `cls` errors raised by SQL: a subclass of `cls` and of `duckdb.Error`, the same
    on both routes (native extension, rewrite), so `except StdfTruncatedError` and
    `except duckdb.Error` both catch it."""
    if cls in _sql_classes:
        return _sql_classes[cls]
    if cls in _sql_classes.values():
        return cls
    import duckdb

    made = type(cls.__name__, (cls, duckdb.Error), {"__module__": "stdf_duck", "__doc__": cls.__doc__})
    made.__qualname__ = cls.__name__
    _sql_classes[cls] = made
    return made


def as_sql_error(e: StdfError) -> StdfError:
    """`e` as the SQL class of its class (itself when it already is one)."""
    cls = sql_class(type(e))
    if type(e) is cls:
        return e
    return cls(e.message, path=e.path, offset=e.offset, record=e.record)


def _marked(text: str) -> ErrorArgs | None:
    at = text.rfind(MARKER)
    if at < 0:
        return None
    try:
        d, _ = json.JSONDecoder().raw_decode(text, at + len(MARKER))
        return (d["kind"], d["message"], d["path"], d["offset"], d["record"], d["io_kind"])
    except (ValueError, KeyError, TypeError):
        return None


def from_duckdb(exc: BaseException, last_errors: Iterable[ErrorArgs | None] = ()) -> StdfError | None:
    """The StdfError (its SQL class) a DuckDB error stands for, or None when it is not an STDF error:
    from the extension's marker in the message (native route), else from the STDF error that ended
    one of the given Arrow streams when the message quotes it (rewrite route)."""
    text = str(exc)
    args = _marked(text)
    if args is None:
        args = next((a for a in last_errors if a is not None and str(a[1]) in text), None)
    if args is None:
        return None
    return as_sql_error(from_native(args))


_WRAPPERS = (
    re.compile(r"reading the stream registered as '[^']*' failed: (External error: )?"),
    re.compile(r"^Invalid Input Error: (?=STDF )"),
    re.compile(r"^STDF \w+ error: "),
)


def one_line(exc: BaseException) -> str:
    """An exception as one line: DuckDB's `LINE 1: ...` context and carets are dropped, and so
    are the wrappers an STDF error gets on its way through DuckDB (same text on both routes)."""
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines()]
    keep = [ln for ln in lines if ln and not ln.startswith("LINE ") and set(ln) != {"^"}]
    out = " ".join(keep) if keep else type(exc).__name__
    for rx in _WRAPPERS:
        out = rx.sub("", out)
    if out.startswith("Invalid Input Error: /"):
        out = out[len("Invalid Input Error: ") :]
    return out
