"""stdf_duck.api: the read-only HTTP API of `stdf-duck serve` (FastAPI; the `api` extra).

`create_app(archive, token=None)` builds the application (testable without a server: FastAPI's
TestClient); `serve` runs it under uvicorn. The endpoints answer with the analyses of
stdf_duck.analysis, an export and `POST /sql` (one checked query on a connection confined to the
archive). See `app` for the security rules and `stdf_duck.client` for a Python client.
"""

from __future__ import annotations

from .app import TOKEN_ENV, check_bind, create_app, is_loopback

__all__ = ["TOKEN_ENV", "check_bind", "create_app", "is_loopback"]
