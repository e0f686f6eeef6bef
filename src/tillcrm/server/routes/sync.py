"""Sync protocol v1: a till pushes its outbox and pulls the changes in its scope.

The routes speak HTTP; applying a batch is `server.push`, building a pull page
`server.pull`. A push waits for one of the app's push slots (`PUSH_SLOTS`) in a worker
thread; a pull page may have been built ahead (`PagesAhead`).
"""

from __future__ import annotations

from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from tillcrm.api import PullResponse, PushedBatch, PushResponse
from tillcrm.domain import INT64_MAX
from tillcrm.server.context import CurrentTill, Database
from tillcrm.server.metrics import metrics_of
from tillcrm.server.openapi import error_responses
from tillcrm.server.pages_ahead import PagesAhead
from tillcrm.server.pull import ops_applied, pull_page
from tillcrm.server.push import push_batch
from tillcrm.server.request_limits import JsonLimitsRoute

router = APIRouter(route_class=JsonLimitsRoute, responses=error_responses(401, 422))

PULL_PAGE = 1000
MAX_PULL_PAGE = 5000

PUSH_SLOTS = 2
"""How many pushes one CRM process applies at once; the others wait their turn without a
thread or a database connection. A push is Python work between database round trips: with
two, one runs Python while the other waits for the database (measurements in
docs/performance.md). A chain that needs more runs more processes (the service keeps no
state of its own)."""


def push_limiter() -> CapacityLimiter:
    """The limiter of one app's pushes (see `PUSH_SLOTS`); `create_app` makes one per app."""
    return CapacityLimiter(PUSH_SLOTS)


@router.post("/sync/push", responses=error_responses(413))
async def push(
    till: CurrentTill, engine: Database, request: Request, body: PushedBatch
) -> PushResponse:
    """Apply a batch of ops (each an `Op`) in seq order, each once; stop at a gap, or at a
    seq already another op's, and say so in the answer (`stopped`).

    A rejection is an answer like any other: it is stored and the seq advances, so one bad op
    never blocks the queue behind it. That holds for an op this CRM cannot read as well (an
    op type or a field it does not know): its rejection is stored for its seq. How the batch
    is applied (all or nothing first, else op by op) is `server.push`'s.
    """
    limiter: CapacityLimiter = request.app.state.push_limiter
    answer = await to_thread.run_sync(push_batch, engine, till, body.ops, limiter=limiter)
    metrics_of(request).pushed(answer.results)
    return answer


def _within_int64(cursor: str) -> str:
    """A cursor is a change sequence number: a signed 64-bit integer."""
    if cursor and int(cursor) > INT64_MAX:
        raise ValueError(f"a cursor is at most {INT64_MAX}")
    return cursor


@router.get("/sync/pull", response_model=PullResponse)
def pull(
    till: CurrentTill,
    engine: Database,
    request: Request,
    cursor: Annotated[
        str, Query(max_length=19, pattern=r"^\d*$"), AfterValidator(_within_int64)
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_PAGE)] = PULL_PAGE,
) -> Response:
    """Customers in the till's scope changed after `cursor` ("" for everything), oldest
    change first; the answer's cursor is where the next page starts.

    The page is JSON text written by `server.pull` (`PullResponse` is still the answer's
    schema). When more follows, the next page is built while the till stores this one
    (`PagesAhead`).
    """
    ahead: PagesAhead = request.app.state.pages_ahead
    page = ahead.page(
        till.id,
        till,
        int(cursor or 0),
        limit,
        build=lambda after, size: pull_page(engine, till, after, size),
        ops_applied=lambda: ops_applied(engine, till),
    )
    metrics_of(request).pulled_page()
    return Response(page.body, media_type="application/json")
