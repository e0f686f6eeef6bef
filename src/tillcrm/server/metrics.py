"""`GET /v1/metrics`: the CRM's counters in the Prometheus text format.

What an operator of a chain watches: requests by route template and status (a till stuck on
401 or a CRM answering 503 shows at once), push ops by result (applied, duplicate, rejected,
needs_review) and pull pages served. Labels are route templates (`/v1/customers/{customer_id}`)
and fixed words, never a path, a till or a customer, so the endpoint tells nothing of a store's
customers and a fuzzer's random paths cannot grow it without bound.

It is unauthenticated, like `/v1/health`: the only token the CRM could ask for is the admin
token, and a scraper holding that could enroll tills. Keep it off the public side with the
reverse proxy (or the network) in front of the CRM. The counters are each process's own
(the CRM keeps no state in its process): scrape every process, Prometheus sums them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tillcrm.api import API_PREFIX, OpResult, OpStatus

__all__ = ["UNMATCHED", "CrmMetrics", "install_metrics", "metrics_of"]

UNMATCHED = "unmatched"
"""The route label of a request no route of the API matched (a 404)."""


class CrmMetrics:
    """One app's counters, in a registry of its own: two apps in one process (the tests, the
    demo) count apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "tillcrm_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._push_ops = Counter(
            "tillcrm_push_ops",
            "Ops answered by POST /v1/sync/push, by result.",
            ["result"],
            registry=self.registry,
        )
        self._pull_pages = Counter(
            "tillcrm_pull_pages",
            "Pages served by GET /v1/sync/pull.",
            registry=self.registry,
        )
        for status in OpStatus:  # every result shows, 0 before its first op
            self._push_ops.labels(result=status.value)

    def answered(self, method: str, route: str, status: int) -> None:
        """Count one answered request."""
        self._requests.labels(method=method, route=route, status=str(status)).inc()

    def pushed(self, results: Iterable[OpResult]) -> None:
        """Count the ops of one push by their result."""
        for result in results:
            self._push_ops.labels(result=result.status.value).inc()

    def pulled_page(self) -> None:
        """Count one pull page served."""
        self._pull_pages.inc()

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """Every counter, and its content type: the Prometheus text format, or OpenMetrics
        when the scraper's `Accept` asks for it."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def metrics_of(request: Request) -> CrmMetrics:
    """The counters of the app serving `request`."""
    metrics: CrmMetrics = request.app.state.metrics
    return metrics


class _CountRequests:
    """Count every HTTP request once it is answered, under the template of the route that
    served it (set in the scope by routing). A pure ASGI middleware: it sees the status as it
    is sent and lets bodies stream, as `request_limits.BodyLimit` needs."""

    def __init__(self, app: ASGIApp, metrics: CrmMetrics, routers: Iterable[APIRouter]) -> None:
        self.app = app
        self.metrics = metrics
        self._under_prefix = {id(route) for router in routers for route in router.routes}
        """The routes of the routers included at `API_PREFIX`: FastAPI 0.165 puts such a
        route itself in the scope, its path without the prefix (older versions a copy with
        the prefix in its path)."""

    def _template(self, route: Any) -> str:
        """The full path template of the route that served a request."""
        path = getattr(route, "path", None)
        if path is None:
            return UNMATCHED
        return f"{API_PREFIX}{path}" if id(route) in self._under_prefix else str(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an error raised past every handler is answered 500 further out

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.answered(method, self._template(scope.get("route")), status)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted by name; any other a caller makes up is `other`, so no request can add
series to the endpoint without end."""


def install_metrics(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Give `app` its counters, the middleware that counts requests, and `/v1/metrics`;
    `routers` are the ones `app` includes at `API_PREFIX`.

    The endpoint is left out of the OpenAPI document: it is for a scraper, not a till."""
    metrics = CrmMetrics()
    app.state.metrics = metrics
    app.add_middleware(_CountRequests, metrics=metrics, routers=routers)

    def scrape(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    app.add_api_route(f"{API_PREFIX}/metrics", scrape, methods=["GET"], include_in_schema=False)
