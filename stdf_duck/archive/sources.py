"""The files a `materialize` reads: paths, folders (searched recursively) and globs.

Rules (each is tested in tests/test_discovery.py):

* a path that exists is that path, whatever characters its name holds (`lot[1].stdf`,
  `star*.stdf`): only a source that does not exist is a glob. The table functions have the same
  rule (`expand_paths` in rust/stdf-arrow/src/multi.rs), so a found file handed to them is read as
  that file;
* folders and `**` are searched once per real directory: a symbolic link to a directory is
  followed, a link loop ends;
* a file named explicitly is always read; a file found in a folder or by a glob is read when it
  looks like STDF (`sniff`) or when it cannot tell (a compressed file damaged before its first
  four decompressed bytes): the reader then reports the damage;
* what cannot be read is reported (`Item.error`), never opened and never dropped: a file that
  cannot be opened, an entry that is not a regular file (a named pipe would block the run), a
  broken symbolic link, a folder that cannot be listed;
* a name that is not valid UTF-8 is read like any other; its ledger key has the undecodable
  bytes written `\\xNN` (`ledger_key`);
* a compressed file may not expand beyond `stream_limit` (the decompression bound of `sync`,
  stdf_duck.sync.verify; materialize applies it in its worker, `check_bomb`).

This module is also the one owner of the STDF magic bytes on the Python side (`FAR_HEADS`,
`is_far`, `compression_of`, `sniff`): the sync's check of a download (stdf_duck.sync.verify) uses them.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .._errors import SourceError, VerifyError

__all__ = [
    "FAR_HEADS",
    "MAX_RATIO",
    "MAX_STREAM_BYTES",
    "Item",
    "SourceError",
    "VerifyError",
    "check_bomb",
    "compression_of",
    "discover",
    "expand_sources",
    "inflate",
    "is_far",
    "ledger_key",
    "looks_like_stdf",
    "sniff",
    "stream_limit",
]


# ---- magic bytes -----------------------------------------------------------------------------

#: the first four bytes of an STDF V4 file: the FAR header (REC_LEN 2, REC_TYP 0, REC_SUB 10),
#: little- and big-endian
FAR_HEADS = (b"\x02\x00\x00\x0a", b"\x00\x02\x00\x0a")
_COMPRESSION = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"PK\x03\x04", "zip"), (b"\x28\xb5\x2f\xfd", "zstd"))
#: a compressed file may expand to max(this floor, size x MAX_RATIO), at most MAX_STREAM_BYTES
MAX_RATIO = 200.0
MAX_STREAM_BYTES = 64 * 2**30
_RATIO_FLOOR = 64 * 2**20


def is_far(head: bytes) -> bool:
    """True when these four bytes are an STDF V4 FAR header (either byte order)."""
    return head in FAR_HEADS


def compression_of(head: bytes) -> str | None:
    """'gzip', 'bzip2', 'zip' or 'zstd' from a file's first four bytes, None when not compressed."""
    for magic, kind in _COMPRESSION:
        if head.startswith(magic):
            return kind
    return None


def streams(path: str, kind: str) -> Iterator[Any]:
    """The decompressed streams of a compressed file (a zip: one per member)."""
    if kind == "gzip":
        import gzip

        yield gzip.open(path, "rb")
    elif kind == "bzip2":
        import bz2

        yield bz2.open(path, "rb")
    elif kind == "zip":
        import zipfile

        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield z.open(info)
    else:
        import zstandard

        f = open(path, "rb")
        yield zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True, closefd=True)


def sniff(path: str) -> bool | None:
    """True when the file looks like STDF (a FAR first, compressed or not), False when it does not,
    None when a compressed file is too damaged to tell (the reader will report it). Raises OSError
    when the file cannot be opened or read."""
    with open(path, "rb") as f:
        head = f.read(4)
    if is_far(head):
        return True
    kind = compression_of(head)
    if kind is None:
        return False
    try:
        for stream in streams(path, kind):
            with stream:
                if is_far(stream.read(4)):
                    return True
        return False
    except OSError as e:
        if e.errno is not None:  # a read error; gzip and bz2 report damaged content without errno
            raise
        return None
    except Exception:  # EOFError, zlib.error, zipfile.BadZipFile, zstandard.ZstdError, ...: damage
        return None


def looks_like_stdf(path: str) -> bool:
    """True for a file `materialize` reads when found in a folder: STDF content, or a compressed
    file too damaged to tell (the reader reports it). Raises OSError when it cannot be read."""
    return sniff(path) is not False


# ---- the decompression bound -----------------------------------------------------------------


def stream_limit(size: int, max_ratio: float = MAX_RATIO, max_stream_bytes: float = MAX_STREAM_BYTES) -> int:
    """Decompressed bytes a compressed file of `size` bytes on disk may hold."""
    return int(min(max_stream_bytes, max(_RATIO_FLOOR, size * max_ratio)))


def inflate(path: str, kind: str, limit: int, limits: str) -> tuple[int, bytes, BaseException | None]:
    """Decompress as a stream, nothing kept: (bytes, the first four, the error that ended it early).
    VerifyError beyond `limit` (`limits` names the settings in its message)."""
    total, first = 0, b""
    try:
        for stream in streams(path, kind):
            with stream:
                while block := stream.read(1 << 16):
                    if len(first) < 4:
                        first += block[: 4 - len(first)]
                    total += len(block)
                    if total > limit:
                        raise VerifyError(
                            f"decompression bomb: the {kind} content exceeds {limit:,} bytes "
                            f"({os.path.getsize(path):,} bytes on disk; limits: {limits})"
                        )
    except VerifyError:
        raise
    except Exception as e:  # OSError, EOFError, zlib.error, zipfile.BadZipFile, zstandard.ZstdError, ...
        return total, first, e
    return total, first, None


def check_bomb(path: str, max_ratio: float = MAX_RATIO, max_stream_bytes: float = MAX_STREAM_BYTES) -> None:
    """VerifyError when a compressed file expands beyond `stream_limit` (materialize's bound: the
    rule of `verify_stdf`); damage and content are left to the reader, which reports them."""
    with open(path, "rb") as f:
        kind = compression_of(f.read(4))
    if kind is not None:
        limits = f"max_ratio = {max_ratio:g}, max_stream_mb = {max_stream_bytes / 2**20:g}"
        inflate(path, kind, stream_limit(os.path.getsize(path), max_ratio, max_stream_bytes), limits)


# ---- items -----------------------------------------------------------------------------------


def ledger_key(path: str) -> str:
    """A path as text the ledger can store: the path itself, or, for a name that is not valid
    UTF-8 (Python holds its bytes as surrogates), the name with those bytes written `\\xNN`."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass
class Item:
    """One file to materialize: `path` is read, `key` names it in the ledger (default: `path`).

    A sync gives the remote file's credential-free URL as the key, its remote size and mtime, and
    the product/stage its rules derived (`product_default`/`stage_default` are used only where the
    MIR has no PART_TYP / TEST_COD and FLOW_ID). `error`: why the file cannot be read at all (it is
    reported as failed without being opened). `max_ratio`: the decompression bound checked before
    reading (None: not checked; a sync has verified the file with its own bound)."""

    path: str
    key: str = ""
    size: int = -1
    mtime_ns: int = -1
    product_default: str | None = None
    stage_default: str | None = None
    error: str | None = None
    max_ratio: float | None = MAX_RATIO
    max_stream_bytes: float = MAX_STREAM_BYTES

    def __post_init__(self) -> None:
        self.key = ledger_key(self.key or self.path)
        if self.size < 0 or self.mtime_ns < 0:
            try:
                st = os.stat(self.path)
            except OSError as e:
                self.error = self.error or _os_error(e)
                st = None
            self.size = self.size if self.size >= 0 else (st.st_size if st else 0)
            self.mtime_ns = self.mtime_ns if self.mtime_ns >= 0 else (st.st_mtime_ns if st else 0)


def _os_error(e: OSError) -> str:
    return f"cannot read this file: {e.strerror or e}"


# ---- folders and globs -----------------------------------------------------------------------

_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _found(path: str, named: bool = False) -> Item | None:
    """The Item of a file found in a folder or by a glob (None when it is not STDF), or `named`
    explicitly (always read when it is a regular file)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Item(
            path, size=0, mtime_ns=0, error="a broken symbolic link" if os.path.islink(path) else "the file disappeared"
        )
    except OSError as e:
        return Item(path, size=0, mtime_ns=0, error=_os_error(e))
    if not stat.S_ISREG(st.st_mode):
        what = next((w for test, w in _SPECIAL if test(st.st_mode)), "not a regular file")
        return Item(path, size=0, mtime_ns=0, error=f"not a regular file: {what} (never opened)")
    try:
        if not named and not looks_like_stdf(path):
            return None
    except OSError as e:
        return Item(path, size=st.st_size, mtime_ns=st.st_mtime_ns, error=_os_error(e))
    return Item(path, size=st.st_size, mtime_ns=st.st_mtime_ns)


def _dir_key(path: str) -> tuple[int, int] | str:
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(path)


def _list(directory: str, problems: list[Item]) -> tuple[list[str], list[str]]:
    """(sub-folders, other entries) of a folder, sorted, hidden names left out; a folder that
    cannot be listed is added to `problems`."""
    try:
        with os.scandir(directory) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as e:
        problems.append(Item(directory, size=0, mtime_ns=0, error=f"cannot list this folder: {e.strerror or e}"))
        return [], []
    dirs: list[str] = []
    files: list[str] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()  # a link to a folder is a folder
        except OSError:
            is_dir = False
        (dirs if is_dir else files).append(entry.path)
    return dirs, files


def _walk(directory: str, problems: list[Item], seen: set[tuple[int, int] | str]) -> Iterator[str]:
    """Every non-hidden entry below a folder that is not a folder, each real folder once (`seen`:
    the folders already searched)."""
    stack = [directory]
    while stack:
        d = stack.pop()
        k = _dir_key(d)
        if k in seen:
            continue
        seen.add(k)
        dirs, files = _list(d, problems)
        yield from files
        stack.extend(reversed(dirs))


def _glob(pattern: str, problems: list[Item]) -> list[str]:
    """The paths matching a glob (`*`, `?`, `[..]`, `**`), like the standard `glob` with
    recursive=True (hidden names need a pattern starting with a dot), but `**` visits each real
    folder once (a link loop ends) and a folder that cannot be listed is reported."""
    drive, rest = os.path.splitdrive(pattern)
    absolute = rest.startswith(os.sep) or (os.altsep is not None and rest.startswith(os.altsep))
    parts = [p for p in rest.replace(os.altsep or os.sep, os.sep).split(os.sep) if p]
    out: list[str] = []
    seen: set[tuple[int, tuple[int, int] | str]] = set()

    def match(base: str, i: int) -> None:
        if i == len(parts):
            out.append(base)
            return
        comp = parts[i]
        if comp == "**":
            k = (i, _dir_key(base or "."))
            if k in seen:
                return
            seen.add(k)
            last = i + 1 == len(parts)
            if not last:
                match(base, i + 1)
            elif base:
                out.append(base)
            dirs, files = _list(base or ".", problems)
            if last:  # a final `**`: files too
                out.extend(f if base else os.path.basename(f) for f in files)
            for sub in dirs:
                match(sub if base else os.path.basename(sub), i)
        elif _has_magic(comp):
            dirs, files = _list(base or ".", problems) if not comp.startswith(".") else _list_all(base or ".", problems)
            for p in sorted(dirs + files):
                if fnmatch.fnmatch(os.path.basename(p), comp) and (i + 1 == len(parts) or os.path.isdir(p)):
                    match(p if base else os.path.basename(p), i + 1)
        else:
            p = os.path.join(base, comp) if base else comp
            if os.path.lexists(p) if i + 1 == len(parts) else os.path.isdir(p):
                match(p, i + 1)

    root = drive + (os.sep if absolute else "")
    match(root, 0)
    if rest.endswith(os.sep) or (os.altsep is not None and rest.endswith(os.altsep)):  # `*/`: folders only
        out = [p for p in out if os.path.isdir(p)]
    return sorted(set(out))


def _list_all(directory: str, problems: list[Item]) -> tuple[list[str], list[str]]:
    """Like `_list`, hidden names included (a pattern starting with a dot)."""
    try:
        with os.scandir(directory) as it:
            names = [e.path for e in it]
    except OSError as e:
        problems.append(Item(directory, size=0, mtime_ns=0, error=f"cannot list this folder: {e.strerror or e}"))
        return [], []
    return [p for p in names if os.path.isdir(p)], [p for p in names if not os.path.isdir(p)]


def _has_magic(s: str) -> bool:
    return any(c in s for c in "*?[")


def discover(sources: Iterable[str]) -> list[Item]:
    """Files, folders (searched recursively) and globs -> one Item per candidate file (absolute,
    resolved path), in order, each once; an Item with `error` set is reported, not read (see the
    module doc). Raises SourceError for a path that does not exist, a glob that matches nothing,
    or a folder or glob without any candidate."""
    out: list[Item] = []
    seen: set[str] = set()
    for src in sources:
        s = os.path.expanduser(os.fspath(src))
        problems: list[Item] = []
        found: list[Item] = []
        walked: set[tuple[int, int] | str] = set()
        if os.path.lexists(s) and not os.path.isdir(s):  # a path that exists is a path
            found = [it for it in [_found(s, named=True)] if it is not None]
        elif os.path.isdir(s):
            found = [it for f in _walk(s, problems, walked) if (it := _found(f)) is not None]
        elif _has_magic(s):
            matches = _glob(s, problems)
            if not matches and not problems:
                raise SourceError(f"no file matches {src}")
            for m in matches:
                if os.path.isdir(m):
                    found.extend(it for f in _walk(m, problems, walked) if (it := _found(f)) is not None)
                else:
                    it = _found(m)
                    if it is not None:
                        found.append(it)
        else:
            raise SourceError(f"no such file or directory: {src}")
        if not found and not problems:
            raise SourceError(f"no STDF file found in {src}")
        for it in found + problems:
            rp = os.path.realpath(it.path) if it.error is None else os.path.abspath(it.path)
            if rp not in seen:
                seen.add(rp)
                it.path = rp
                it.key = ledger_key(rp)
                out.append(it)
    return out


def expand_sources(sources: Iterable[str]) -> list[str]:
    """The paths `discover` finds that can be read (see it): absolute, resolved file paths."""
    return [it.path for it in discover(sources) if it.error is None]
