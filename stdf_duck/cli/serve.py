"""`stdf-duck serve [ARCHIVE]`: the read-only HTTP API over an archive (stdf_duck.api, FastAPI
under uvicorn; the `api` extra)."""

from __future__ import annotations

import os

import click

from ._common import CONTEXT, EXIT_OK, EXIT_USAGE, Failure, archive_option, one_archive


@click.command(context_settings=CONTEXT)
@click.argument("archive", required=False, metavar="[ARCHIVE]")
@archive_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1), help="Row cap of an answer.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.001), help="Seconds a query may run.")  # fmt: skip
def serve(archive: str | None, archive_dir: str | None, host: str, port: int, max_rows: int, timeout: float) -> int:
    """Serve an archive read-only over HTTP: JSON analyses, export, POST /sql; docs at /docs.

    \b
      stdf-duck serve arch                          http://127.0.0.1:8000/docs
      STDF_DUCK_API_TOKEN=... stdf-duck serve arch --host 0.0.0.0 --port 8080

    \b
    On any address but loopback a bearer token is required: set STDF_DUCK_API_TOKEN; clients
    send 'Authorization: Bearer <token>' on every request but GET /health.
    """
    root = one_archive(ARCHIVE=archive, **{"--archive": archive_dir})
    if root is None:
        raise click.UsageError("name the archive to serve: stdf-duck serve ARCHIVE")
    try:
        import uvicorn

        from ..api import TOKEN_ENV, check_bind, create_app, is_loopback
    except ImportError as e:
        raise Failure(f"serve needs FastAPI and uvicorn: pip install 'stdf-duck[api]' ({e})", EXIT_USAGE) from None
    token = os.environ.get(TOKEN_ENV) or None
    try:
        check_bind(host, token)
    except ValueError as e:
        raise Failure(str(e), EXIT_USAGE) from None
    try:  # the figures' endpoints, when the plots extra is installed
        from ..plots import served

        served()
    except ImportError:
        pass
    app = create_app(root, token, public=not is_loopback(host), timeout=timeout, max_rows=max_rows)
    auth = "a bearer token required" if token else "no token"
    click.echo(f"stdf-duck: serving {root} on http://{host}:{port} ({auth}); docs at /docs", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return EXIT_OK
