"""The dashboard's server process (`python -m stdf_duck.web.warm run APP ...`, what `stdf-duck web`
runs): Streamlit's own command line, and beside it a thread that draws every page once, with the
pages' default choices, ahead of the first visitor, and again each time the source has a new
generation (a sync published files). Whole-archive answers take seconds on a 1,000-file archive
(the test statistics of every test over the final dice of 744K parts: ~7 s on 2 cores); warmed,
a page is drawn from the cache in well under a second.

A page is drawn by its own `render` outside any session (Streamlit's bare mode: widgets give their
defaults, nothing is sent), so the warmed answers are exactly those a visitor's first view asks
for, cached by `stdf_duck.web.data` under the same keys. Off with `stdf-duck web --no-warm`
(WARM_ENV=0).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
import time
from typing import Any

import duckdb

#: set to "0" to serve without warming the pages
WARM_ENV = "STDF_DUCK_WEB_WARM"
#: the thread's name (its log records from Streamlit's bare mode are dropped)
THREAD = "stdf-duck-warm"
#: seconds between two looks at the source's generation
EVERY = 2.0


class _NotWarmThread(logging.Filter):
    """Streamlit warns on every call made outside a session ("missing ScriptRunContext"): the
    warming thread's calls are all such calls, so its records below ERROR are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD or record.levelno >= logging.ERROR


#: set when the process exits: the thread stops between (and, interrupted, inside) its calls
STOP = threading.Event()
#: the dashboard's open source the thread reads (stopped at exit)
_SEEN: list[Any] = []


def warm(pages: tuple[str, ...] | None = None) -> dict[str, float]:
    """Draw each page with the default filters outside a session (its answers land in the
    process's caches); the seconds each took. A page that fails is logged and skipped."""
    from stdf_duck.web import PAGES
    from stdf_duck.web.data import Filters

    took: dict[str, float] = {}
    for page in pages or PAGES:
        if STOP.is_set():
            break
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"stdf_duck.web.views.{page}").render(Filters())
        except duckdb.InterruptException:  # the process is stopping (or closed the connection)
            raise
        except Exception as e:  # a page that fails shows its error to its visitor; warming goes on
            if STOP.is_set():
                break
            print(f"stdf-duck: warming page {page} failed: {e}", file=sys.stderr, flush=True)
        took[page] = time.perf_counter() - t0
    return took


def _loop() -> None:
    from streamlit.runtime import Runtime

    from stdf_duck.web.data import backend

    while not Runtime.exists():  # the caches are the server's once its runtime is made
        time.sleep(0.1)
    last: Any = None
    while not STOP.is_set():
        try:
            be = backend()
            _SEEN[:] = [be]
            gen = be.generation()
            if gen != last:
                _quiet()
                t0 = time.perf_counter()
                took = warm()
                if STOP.is_set():
                    break
                print(
                    f"stdf-duck: pages warmed in {time.perf_counter() - t0:.1f} s "
                    f"({', '.join(f'{p} {s:.1f}' for p, s in took.items())})",
                    file=sys.stderr,
                    flush=True,
                )
                last = gen
        except duckdb.InterruptException:  # tried again, unless the process is stopping
            pass
        except Exception as e:  # the source unreadable for a moment (a writer mid-publish)
            if STOP.is_set():
                break
            print(f"stdf-duck: warming failed: {e}", file=sys.stderr, flush=True)
        STOP.wait(EVERY)


_QUIET = _NotWarmThread()


def _quiet() -> None:
    """The filter on every Streamlit logger (each has its own handler and does not propagate)."""
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("streamlit") and isinstance(logger, logging.Logger) and _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


def start() -> threading.Thread:
    """The warming thread, started (a daemon: it never holds the server up), and stopped when
    the process exits (its DuckDB query interrupted, then joined)."""
    t = threading.Thread(target=_loop, name=THREAD, daemon=True)
    t.start()
    atexit.register(_stop, t)
    return t


def _stop(t: threading.Thread, seconds: float = 10.0) -> None:
    STOP.set()
    end = time.monotonic() + seconds
    while t.is_alive() and time.monotonic() < end:  # again until joined: a query begun as the first
        for be in _SEEN:  # interrupt landed (between source() and execute) is interrupted too
            with contextlib.suppress(Exception):
                be.stop()
        t.join(0.2)


def main() -> None:
    """Streamlit's command line (sys.argv as for `streamlit`), the pages warmed beside it."""
    if os.environ.get(WARM_ENV, "1") != "0":
        start()
    from streamlit.web.cli import main as streamlit_main

    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
