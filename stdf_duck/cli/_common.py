"""What every command shares: exit codes, the one-line error, the --archive option."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .._errors import one_line

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_INTERRUPTED = 130

_F = TypeVar("_F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Failure(Exception):
    """An error reported as one line with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def err(msg: str) -> None:
    click.echo(f"stdf-duck: error: {msg}", err=True)


def archive_option(required: bool = False, create: bool = False) -> Callable[[_F], _F]:
    """`--archive/-a DIR`: the one name of the archive on every command that takes one."""
    what = "Archive directory (created if needed)." if create else ("An archive directory (or its archive.duckdb).")
    return click.option(
        "--archive",
        "-a",
        "archive_dir",
        required=required,
        metavar="DIR",
        type=click.Path(file_okay=not create),
        help=what,
    )


#: the analysis filters every analysis command takes (report, plot, export), in this order; their
#: parameter names are the stdf_duck.analysis keyword arguments
_FILTERS: tuple[Callable[[_F], _F], ...] = (
    click.option("--product", help="Only this product (MIR PART_TYP)."),
    click.option("--stage", help="Only this test stage (MIR TEST_COD)."),
    click.option("--lot", help="Only this lot."),
    click.option("--wafer", help="Only this wafer (WIR WAFER_ID)."),
    click.option("--site", type=int, help="Only the dice tested on this site."),
    click.option(
        "--from", "--date-from", "date_from", metavar="DATE", help="Files started on or after DATE (YYYY-MM-DD)."
    ),
    click.option(
        "--until", "--date-to", "date_to", metavar="DATE", help="Files started on or before DATE (YYYY-MM-DD)."
    ),
)


def filter_options(f: _F) -> _F:
    """--product --stage --lot --wafer --site --from --until: the analysis filters."""
    for option in reversed(_FILTERS):
        f = option(f)
    return f


def one_archive(**given: str | None) -> str | None:
    """The archive named by one or more spellings (`--archive`, a positional ARCHIVE, `--db`):
    they must agree."""
    named = {k: v for k, v in given.items() if v is not None}
    if len({os.path.normpath(v) for v in named.values()}) > 1:
        raise click.UsageError(
            "the archive is named twice, differently: " + ", ".join(f"{k} {v}" for k, v in named.items())
        )
    return next(iter(named.values()), None)


def clean(exc: BaseException) -> str:
    """An error as the one line the CLI prints."""
    return one_line(exc)


def command_line(name: str) -> str | None:
    """The command as run (recorded in the ledger)."""
    import sys

    return " ".join(["stdf-duck", name, *sys.argv[2:]]) if sys.argv else None
