"""`stdf-duck`: the command line, a thin shell over the library.

This module builds the click group from the command modules (`files`: info, convert; `query`;
`report`;
`archive`: materialize, status; `sync`: sync, config) and maps exceptions to exit codes
(`EXIT_CODES`, the one table). `render` prints, `progress` draws the bars.

Exit codes: 0 success; 1 failure (a file that could not be read or written, an SQL error);
2 usage error (bad option, missing file); 3 the archive is busy (another materialize or sync holds it);
130 interrupted (Ctrl-C, SIGTERM). Errors are one line on stderr, without a traceback
(set STDF_DUCK_DEBUG=1 to see one).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

import click

from .._errors import ArchiveBusyError, ArchiveError, SourceError, StdfDuckError
from ..config import ConfigError
from ._common import CONTEXT, EXIT_BUSY, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Failure, clean, err
from .archive import materialize, status
from .export import export
from .files import convert, info
from .plot import plot
from .query import query
from .report import report
from .serve import serve
from .sync import config, sync_command
from .web import web


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stdf-duck")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "unknown"


@click.group(context_settings=CONTEXT)
@click.version_option(_version(), "-V", "--version", prog_name="stdf-duck")
def cli() -> None:
    """Query STDF files in place and keep them in a Parquet archive.

    \b
      stdf-duck info lot.stdf.gz                       what is in a file
      stdf-duck query "SELECT count(*) FROM stdf_parts('lots/*.stdf')"
      stdf-duck materialize lots/ --archive arch       STDF -> Hive-partitioned Parquet
      stdf-duck query --archive arch "SELECT lot_id, avg(passed::INT) FROM parts GROUP BY 1"
      stdf-duck convert lots/ --out pq                 the direct Rust writer, same layout
      stdf-duck sync --config stdf-duck.toml           new files from the testers' servers
      stdf-duck status --archive arch                  the ledger: states, failures, last syncs
      stdf-duck report yield --archive arch --by lot,wafer   yield, bins, tests (Cpk), PAT, ...

    \b
    An archive is named --archive DIR (-a DIR) on every command that takes one.

    \b
    Exit codes: 0 ok, 1 failure (some file or the SQL failed), 2 usage error,
    3 archive busy, 130 interrupted.
    """


for _command in (info, query, report, plot, materialize, convert, sync_command, status, config, export, serve, web):
    cli.add_command(_command)


def _duckdb_error() -> type[BaseException]:
    try:
        import duckdb

        return duckdb.Error
    except ImportError:  # pragma: no cover
        return StdfDuckError


#: The exit code of an exception that ends a command: the first row it is an instance of. A
#: `Failure` carries its own code; an exception of no row is an internal error (exit 1, said so).
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (SourceError, EXIT_USAGE),
    (ConfigError, EXIT_USAGE),
    (ArchiveBusyError, EXIT_BUSY),
    (ArchiveError, EXIT_USAGE),
    (StdfDuckError, EXIT_FAILURE),  # StdfFileNotFoundError too: a file missing inside SQL is a data error
    (FileNotFoundError, EXIT_USAGE),  # a missing argument
    (OSError, EXIT_FAILURE),
    (ValueError, EXIT_FAILURE),
    (_duckdb_error(), EXIT_FAILURE),
)


def exit_code(e: BaseException) -> int | None:
    """The exit code of `e` (EXIT_CODES), None when it is not an error the CLI knows."""
    if isinstance(e, Failure):
        return e.code
    return next((code for cls, code in EXIT_CODES if isinstance(e, cls)), None)


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: returns the exit code (see the module doc)."""
    if threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGTERM, _sigterm)
        except (ValueError, OSError):  # pragma: no cover
            pass
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="stdf-duck", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.exceptions.Abort:
        click.echo("stdf-duck: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as e:
        e.show()
        return EXIT_USAGE
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    except KeyboardInterrupt:
        click.echo("stdf-duck: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `stdf-duck query ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # stays open until exit
        except OSError:
            pass
        return EXIT_OK
    except Exception as e:
        return _failed(e)


def _failed(e: Exception) -> int:
    """An exception that ended a command: one line on stderr, its exit code."""
    from ..archive.signals import is_interrupt

    if is_interrupt(e) and not isinstance(e, Failure):
        click.echo("stdf-duck: interrupted", err=True)
        return EXIT_INTERRUPTED
    if os.environ.get("STDF_DUCK_DEBUG"):
        raise e
    code = exit_code(e)
    if code is None:
        err(f"internal error: {type(e).__name__}: {clean(e)} (STDF_DUCK_DEBUG=1 shows the traceback)")
        return EXIT_FAILURE
    err(clean(e))
    return code
