"""`stdf-duck info` and `stdf-duck convert`: commands on STDF files (no archive)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import click

from ._common import CONTEXT, EXIT_FAILURE, EXIT_OK, clean, err
from .render import jsonable, print_info

_ON_ERROR = click.option(
    "--on-error",
    type=click.Choice(["raise", "warn"]),
    default="raise",
    show_default=True,
    help="raise: a damaged file fails; warn: keep its rows before the damage.",
)


def _info_paths(args: Sequence[str]) -> list[str]:
    import glob

    from ..archive import SourceError, expand_sources

    out: list[str] = []
    for a in args:
        if glob.has_magic(a) or os.path.isdir(a):
            out.extend(expand_sources([a]))
        elif os.path.exists(a):
            out.append(a)
        else:
            raise SourceError(f"no such file or directory: {a}")
    return out


@click.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (one object per stream).")
def info(files: tuple[str, ...], as_json: bool) -> int:
    """What is in STDF files: tester, lot, part type, stage, byte order, compression,
    record counts, parts, yield, warnings.

    FILE may be a file, a directory or a glob; damaged files are reported with what could be read.
    """
    from stdf_duck import StdfError, file_info

    paths = _info_paths(files)
    out: list[dict[str, Any]] = []
    failed = 0
    for p in paths:
        try:
            streams = file_info(p)
        except StdfError as e:
            failed += 1
            err(clean(e))
            continue
        if as_json:
            out.extend(streams)
        else:
            for d in streams:
                print_info(d)
    if as_json:
        click.echo(json.dumps(jsonable(out), indent=2))
    return EXIT_FAILURE if failed else EXIT_OK


def convert_one(path: str, out: str, product: str | None, stage: str | None, on_error: str) -> dict[str, Any]:
    """One file -> `out` in the archive's layout (parse_to_parquet), written in a staging folder
    and renamed into place (the archive's rule: `move_into_place`): a failure leaves nothing of
    that file. Returns parse_to_parquet's stats with "files" as their final paths."""
    import stdf_duck

    from ..archive.files import move_into_place, staging_dir

    with staging_dir(out) as staging:
        stats = stdf_duck.parse_to_parquet(
            path, staging, product, stage, on_error="warn" if on_error == "warn" else "raise"
        )
        moves = [(p, os.path.join(out, os.path.relpath(p, staging))) for p in stats.get("files", [])]
        move_into_place(moves)
        stats["files"] = [dst for _src, dst in moves]
        return stats


def _print_warnings(path: str) -> None:
    import stdf_duck

    warned = stdf_duck.read("warnings", path, on_error="warn").to_arrow().to_pylist()
    for w in warned[:5]:
        at = f" at byte {w['byte_offset']:,}" if w.get("byte_offset") is not None else ""
        click.echo(f"stdf-duck: warning: {path}: {w['code']}{at}: {w['message']}", err=True)
    if len(warned) > 5:
        click.echo(f"stdf-duck: warning: {path}: ... {len(warned) - 5} more", err=True)


@click.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--product", help="part_typ directory value; default: MIR PART_TYP.")
@click.option("--stage", help="test_stage directory value; default: MIR TEST_COD, else FLOW_ID.")
@_ON_ERROR
def convert(sources: tuple[str, ...], out: str, product: str | None, stage: str | None, on_error: str) -> int:
    """STDF files, directories or globs -> Parquet with the direct Rust writer (parse_to_parquet).

    \b
    OUT/{parts,tests,results}/part_typ=<P>/test_stage=<S>/lot_id=<L>/<file_id>.parquet  (zstd)
    the archive's layout and partition values (see materialize), with no ledger. Each file is
    written in a temporary folder and renamed into place; a file that fails is reported and the
    others go on (exit code 1).
    """
    from stdf_duck import StdfError

    from ..archive import expand_sources

    paths = expand_sources(sources)
    failed = 0
    for path in paths:
        t0 = time.perf_counter()
        try:
            stats = convert_one(path, out, product, stage, on_error)
        except StdfError as e:
            failed += 1
            err(clean(e))
            continue
        dt = time.perf_counter() - t0
        click.echo(
            f"{path}: parts {stats['parts']:,}, tests {stats['tests']:,}, results {stats['results']:,} "
            f"in {dt:.2f} s ({os.path.getsize(path) / 1e6 / max(dt, 1e-9):,.1f} MB/s)"
        )
        if stats.get("warnings"):
            _print_warnings(path)
        for w in stats["files"]:
            click.echo(f"  {w}")
    return EXIT_FAILURE if failed else EXIT_OK
