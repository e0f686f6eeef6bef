"""The reference CRM's FastAPI application factory, shared by `tillcrm crm serve` and the tests.

The process keeps no state of its own: everything lives in the database, so several processes
can serve one PostgreSQL database for a chain of stores.
"""

from __future__ import annotations

from fastapi import FastAPI

from tillcrm import __version__
from tillcrm.api import API_PREFIX
from tillcrm.server.db import create_db_engine
from tillcrm.server.errors import install_error_handlers
from tillcrm.server.logs import RequestLog
from tillcrm.server.metrics import install_metrics
from tillcrm.server.migrate import upgrade
from tillcrm.server.openapi import install_method_not_allowed
from tillcrm.server.pages_ahead import PagesAhead
from tillcrm.server.request_limits import MAX_BODY_BYTES, BodyLimit
from tillcrm.server.routes import accounts, customers, sync, tills

__all__ = ["ROUTERS", "create_app"]

ROUTERS = (tills.router, customers.router, accounts.router, sync.router)
"""Every router of the API, each of `request_limits.JsonLimitsRoute`s."""


def create_app(
    db_url: str, *, migrate: bool = True, max_body_bytes: int = MAX_BODY_BYTES
) -> FastAPI:
    """The CRM app on `db_url`, its schema brought up to date first unless `migrate` is False,
    reading request bodies of up to `max_body_bytes`."""
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
    app.state.max_body_bytes = max_body_bytes
    install_error_handlers(app)
    install_method_not_allowed(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    install_metrics(app, ROUTERS)
    app.add_middleware(RequestLog)  # outermost of ours: it also times and ids a 413

    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app
