"""Writing a user's output file whole or not at all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """A temporary file next to `path`, renamed over it only when the block succeeds (removed
    otherwise): a reader never sees half a file, a failure leaves the old one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
