"""Ctrl-C and SIGTERM during a materialize: an interrupt is never lost, never a file's fault.

`interrupt_handlers` makes SIGINT and SIGTERM raise KeyboardInterrupt and set `INTERRUPTED`, so an
interrupt that reaches the parent wrapped in a DuckDB or Arrow error is still an interrupt
(`is_interrupt`). While `DEFER` is set (setup and closing bookkeeping) the handler only records it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: set by the handler: an error raised while it is set is the interrupt seen through DuckDB or an
#: Arrow callback, not a fault of the file
INTERRUPTED = threading.Event()
#: set while the bookkeeping runs to its end: the handler records the interrupt without raising
DEFER = threading.Event()


def is_interrupt(e: BaseException) -> bool:
    """True for an interrupt, whatever DuckDB or an Arrow callback made of it."""
    if isinstance(e, KeyboardInterrupt) or INTERRUPTED.is_set():
        return True
    name = type(e).__name__
    text = str(e)
    return (
        name == "InterruptException"
        or "KeyboardInterrupt" in text
        or (isinstance(e, RuntimeError) and "interrupted" in text.lower())
    )


@contextmanager
def interrupt_handlers() -> Iterator[threading.Event]:
    """Install the handlers (main thread only); yields an event set by any interrupt, also one
    that came while the bookkeeping deferred it."""
    INTERRUPTED.clear()
    DEFER.set()
    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum: int, frame: Any) -> None:
        INTERRUPTED.set()
        seen.set()
        if not DEFER.is_set():  # setup and closing bookkeeping run to their end
            raise KeyboardInterrupt

    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            saved[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover
            pass
    try:
        yield seen
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)
        INTERRUPTED.clear()
        DEFER.clear()
