"""`stdf-duck web [ARCHIVE | FILES...]`: the Streamlit dashboard (stdf_duck.web; the `web` extra)
on an archive or on STDF files, run by Streamlit's command line in this process's place (with the
pages warmed beside it: stdf_duck.web.warm)."""

from __future__ import annotations

import json
import os
import sys

import click

from ._common import CONTEXT, EXIT_USAGE, Failure, archive_option


def streamlit_argv(port: int, host: str) -> list[str]:
    """The command line of the Streamlit server of the dashboard."""
    from ..web import APP

    return [
        sys.executable, "-m", "stdf_duck.web.warm", "run", APP,
        "--server.port", str(port), "--server.address", host, "--server.headless", "true",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal", "--global.developmentMode", "false",
    ]  # fmt: skip


@click.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, metavar="[ARCHIVE | FILES...]")
@archive_option()
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--warm/--no-warm", default=True, show_default=True,
    help="Draw every page ahead of its first visitor, at the start and after each sync.",
)  # fmt: skip
def web(sources: tuple[str, ...], archive_dir: str | None, port: int, host: str, warm: bool) -> int:
    """The web dashboard: overview, lot, wafer, tests, bins, files, SQL and export pages.

    \b
      stdf-duck web arch                       http://127.0.0.1:8501
      stdf-duck web lots/*.stdf.gz --port 8600
      http://127.0.0.1:8501/?page=wafer        a page by its name
    """
    items = [*sources, *([archive_dir] if archive_dir else [])]
    if not items:
        raise click.UsageError("name an archive or STDF files: stdf-duck web ARCHIVE")
    for p in items:
        if not any(ch in p for ch in "*?[") and not os.path.exists(p):
            raise click.UsageError(f"no such file or folder: {p}")
    try:
        import streamlit  # noqa: F401
    except ImportError as e:
        raise Failure(f"web needs Streamlit: pip install 'stdf-duck[web]' ({e})", EXIT_USAGE) from None
    from ..web import SOURCE_ENV
    from ..web.warm import WARM_ENV

    env = dict(os.environ)
    env[SOURCE_ENV] = json.dumps([os.path.abspath(p) for p in items])
    env[WARM_ENV] = "1" if warm else "0"
    click.echo(f"stdf-duck: dashboard of {', '.join(items)} on http://{host}:{port}", err=True)
    argv = streamlit_argv(port, host)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)
    return 0  # pragma: no cover - execve does not return
