"""The reference CRM's FastAPI application factory, shared by `tillcrm crm serve` and the tests.

The process keeps no state of its own: everything lives in the database, so several processes
can serve one PostgreSQL database for a chain of stores.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tillcrm import __version__
from tillcrm.api import API_PREFIX, ErrorBody
from tillcrm.server.db import create_db_engine
from tillcrm.server.errors import install_error_handlers
from tillcrm.server.migrate import upgrade
from tillcrm.server.pages_ahead import PagesAhead
from tillcrm.server.routes import accounts, customers, sync, tills

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Larger bodies are refused before they are read (a push of 1,000 ops fits easily)."""


def create_app(db_url: str, *, migrate: bool = True) -> FastAPI:
    """The CRM app on `db_url`, its schema brought up to date first unless `migrate` is False."""
    if migrate:
        upgrade(db_url)
    app = FastAPI(
        title="tillcrm reference CRM",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.engine = create_db_engine(db_url)
    app.state.push_limiter = sync.push_limiter()
    app.state.pages_ahead = PagesAhead()
    install_error_handlers(app)

    @app.middleware("http")
    async def _limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            body = ErrorBody(detail="request body too large", code="too_large")
            return JSONResponse(body.model_dump(), status_code=413)
        return await call_next(request)

    for router in (tills.router, customers.router, accounts.router, sync.router):
        app.include_router(router, prefix=API_PREFIX)
    return app
