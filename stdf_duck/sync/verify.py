"""The check of a downloaded file before it is materialized (the magic bytes and the decompression
bound are the archive's: stdf_duck.archive.sources)."""

from __future__ import annotations

import os

from .._errors import VerifyError, one_line
from ..archive.sources import MAX_RATIO, MAX_STREAM_BYTES, compression_of, inflate, is_far, stream_limit

__all__ = ["VerifyError", "verify_stdf"]


def verify_stdf(
    path: str, max_ratio: float = MAX_RATIO, max_stream_bytes: float = MAX_STREAM_BYTES, strict: bool = True
) -> int:
    """Check a downloaded file before it is materialized (`sync`); returns its decompressed size.

    An uncompressed file must start with a FAR record. A gzip / bzip2 / zip / zstd file is
    decompressed as a stream (nothing kept): its content must start with a FAR record and must not
    exceed `stream_limit` (a decompression bomb fails here, fast, before the engine sees it).
    strict: a damaged container (bad CRC, cut short) fails too; else it is left to the engine
    (on_error = 'warn' keeps what is readable)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if is_far(head):
        return size
    kind = compression_of(head)
    if kind is None:
        raise VerifyError(f"not an STDF file: no FAR record at byte 0 (starts with {head.hex(' ') or 'nothing'})")
    limits = f"sync.max_ratio = {max_ratio:g}, sync.max_stream_mb = {max_stream_bytes / 2**20:g}"
    total, first, err = inflate(path, kind, stream_limit(size, max_ratio, max_stream_bytes), limits)
    if err is not None and (strict or len(first) < 4):
        raise VerifyError(f"damaged {kind} file after {total:,} decompressed bytes: {one_line(err)}") from None
    if not is_far(first):
        raise VerifyError(f"not an STDF file: the {kind} content does not start with a FAR record")
    return total
