"""`stdf-duck query`: SQL over STDF files (every stdf_* function) or over an archive."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from typing import Any

import click

from .._output import atomic_output
from ..archive._sql import sql_literal
from ._common import CONTEXT, EXIT_OK, EXIT_USAGE, Failure, archive_option, one_archive


def open_query_connection(db: str | None) -> Any:
    """A stdf_duck connection; with `db`, the archive's views and a copy of its ledger tables
    (stdf_duck.archive.catalog.attach_archive: nothing of the archive stays open)."""
    import stdf_duck

    from ..archive import Archive
    from ..archive.catalog import attach_archive

    con = stdf_duck.connect()
    if db is None:
        return con
    try:
        root = Archive.locate(db).root
    except BaseException:
        con.close()
        raise
    return attach_archive(con, root)


def _read_sql(sql: str) -> str:
    if sql == "-":
        sql = sys.stdin.read()
    elif sql.startswith("@") and os.path.isfile(sql[1:]):
        with open(sql[1:], encoding="utf-8") as f:
            sql = f.read()
    if not sql.strip():
        raise Failure("empty SQL", EXIT_USAGE)
    return sql


@click.command(context_settings=CONTEXT)
@click.argument("sql")
@archive_option()
@click.option("--db", "db", hidden=True, type=click.Path())  # the older name of --archive, kept for scripts
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "csv", "json", "parquet"]),
    default="table",
    show_default=True,
    help="Output format (json: an array of objects; parquet needs --output).",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to this file (else stdout)."
)
@click.option(
    "--max-rows", type=click.IntRange(min=0), default=40, show_default=True, help="table format: rows shown (0: all)."
)
def query(sql: str, archive_dir: str | None, db: str | None, fmt: str, output: str | None, max_rows: int) -> int:
    """Run SQL with every stdf_* table function (and, with --archive, the archive's views parts,
    results, tests, bins, wafers, files and its ledger tables ingest and runs).

    SQL is the statement text, '-' to read it from stdin, or @FILE. Several statements may be
    given; the result of the last one is printed.

    \b
      stdf-duck query "SELECT * FROM stdf_files('lots/*.stdf.gz')"
      stdf-duck query --archive arch -f csv -o yield.csv \\
          "SELECT lot_id, count(*), avg(passed::INT) FROM parts WHERE is_final GROUP BY 1"
    """
    db = one_archive(**{"--archive": archive_dir, "--db": db})
    if fmt == "parquet" and not output:
        raise click.UsageError("--format parquet needs --output FILE")
    text = _read_sql(sql)
    con = open_query_connection(db)
    try:
        rel = con.sql(text)
        if rel is None:
            return EXIT_OK
        write_relation(con, rel, fmt, output, max_rows)
        return EXIT_OK
    finally:
        con.close()


def write_relation(con: Any, rel: Any, fmt: str, output: str | None, max_rows: int) -> None:
    """Print `rel` (a relation of `con`) as a table, CSV, JSON (an array of objects keyed by the
    column names) or Parquet, to `output` (written whole, then renamed) or stdout."""
    if fmt == "table":
        width = shutil.get_terminal_size((120, 40)).columns
        rows = max_rows if max_rows > 0 else 2**62
        if output:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                rel.show(max_rows=rows, max_width=10**6)
            with atomic_output(output) as tmp, open(tmp, "w", encoding="utf-8") as f:
                f.write(buf.getvalue())
        else:
            rel.show(max_rows=rows, max_width=width)
        return
    view = f"__stdf_duck_query_{os.getpid()}"
    rel.create_view(view)
    options = {
        "csv": "FORMAT csv, HEADER true",
        "json": "FORMAT json, ARRAY true",
        "parquet": "FORMAT parquet, COMPRESSION zstd",
    }[fmt]
    if output:
        with atomic_output(output) as tmp:
            con.execute(f"COPY (SELECT * FROM {view}) TO {sql_literal(tmp)} ({options})")
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="stdf-duck-") as d:
        tmp = os.path.join(d, f"out.{fmt}")
        con.execute(f"COPY (SELECT * FROM {view}) TO {sql_literal(tmp)} ({options})")
        with open(tmp, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
        if fmt == "json":
            sys.stdout.buffer.write(b"\n")
        sys.stdout.buffer.flush()
