"""The FastAPI application of `stdf-duck serve`: `create_app(archive, token=None, ...)`.

Read-only: the analyses of stdf_duck.analysis as JSON (`routes`), a streamed CSV/Parquet export,
`POST /sql` (one query, checked by `sql_guard`, on a connection confined to the archive: `db`),
OpenAPI docs at /docs. Errors are JSON `{"error": "..."}` with a 4xx status (a 5xx only for a
fault of the server). With a token every endpoint but /health wants `Authorization: Bearer
<token>`; a server on any address but loopback must have one (`check_bind`).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import figures
from .db import MAX_ROWS, TIMEOUT, Database, QueryTimeout
from .routes import analysis_router, sql_router
from .sql_guard import SqlRefused

#: the environment variable holding the bearer token
TOKEN_ENV = "STDF_DUCK_API_TOKEN"

log = logging.getLogger("stdf_duck.api")
_bearer = HTTPBearer(auto_error=False, description=f"the token of {TOKEN_ENV}")
_Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or 'localhost') is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse (ValueError) to serve on a non-loopback address without a token."""
    if not is_loopback(host) and not token:
        raise ValueError(
            f"serving on {host} (not loopback) needs a bearer token: set {TOKEN_ENV} (clients send "
            "'Authorization: Bearer <token>')"
        )


def create_app(
    archive: str | os.PathLike[str],
    token: str | None = None,
    *,
    public: bool = False,
    timeout: float = TIMEOUT,
    max_rows: int = MAX_ROWS,
) -> FastAPI:
    """The API over `archive`. `token`: the bearer token every endpoint but /health checks (None:
    no check); `public`: the server listens on a non-loopback address, which needs a token
    (ValueError without one); `timeout`: seconds a query may run; `max_rows`: the row cap."""
    if public and not token:
        check_bind("0.0.0.0", token)
    if max_rows < 1 or not timeout > 0:
        raise ValueError("max_rows must be at least 1 and timeout positive")
    db = Database(archive, timeout=timeout, max_rows=max_rows)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        db.close()

    app = FastAPI(
        title="stdf-duck",
        summary="Read-only analyses of an STDF archive (yield, bins, tests, wafer maps, trend, PAT) and SQL",
        version=_version(),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.db = db
    guard = [Depends(_auth(token))]
    app.include_router(analysis_router(db), dependencies=guard)
    app.include_router(sql_router(db), dependencies=guard)
    if figures.available():
        app.include_router(figures.figures_router(db), dependencies=guard)
    _docs(app, guard)
    _errors(app)

    @app.get("/health", tags=["server"], summary="Liveness (no token needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _auth(token: str | None) -> Any:
    """The dependency checking the bearer token (constant-time comparison; nothing logged)."""
    expected = token.encode() if token else None

    def auth(creds: _Bearer) -> None:
        if expected is None:
            return
        if creds is None or not hmac.compare_digest(creds.credentials.encode(), expected):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})

    return auth


def _docs(app: FastAPI, guard: list[Any]) -> None:
    """/openapi.json and /docs (Swagger UI), behind the token like every endpoint."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=guard)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="stdf-duck API")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _errors(app: FastAPI) -> None:
    """Every error as JSON {"error": ...}: the client's with a 4xx status, ours with 500."""
    import duckdb

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return _error(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg', '')}" for err in e.errors()]
        return _error(422, "invalid request: " + "; ".join(parts))

    @app.exception_handler(SqlRefused)
    async def refused(request: Request, e: SqlRefused) -> JSONResponse:
        return _error(e.status, str(e))

    @app.exception_handler(QueryTimeout)
    async def timed_out(request: Request, e: QueryTimeout) -> JSONResponse:
        return _error(408, str(e))

    @app.exception_handler(duckdb.Error)
    async def sql_error(request: Request, e: duckdb.Error) -> JSONResponse:
        status = 403 if isinstance(e, duckdb.PermissionException) else 400
        if isinstance(e, duckdb.InterruptException):
            status = 408
        return _error(status, _one_line(e))

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, e: ValueError) -> JSONResponse:
        return _error(400, _one_line(e))

    @app.exception_handler(TypeError)
    async def bad_argument(request: Request, e: TypeError) -> JSONResponse:
        return _error(400, _one_line(e))

    @app.exception_handler(Exception)
    async def internal(request: Request, e: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error: {type(e).__name__}")


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stdf-duck")
    except PackageNotFoundError:  # pragma: no cover - a checkout without install
        return "0"
