"""Health, till enrollment and revocation, the till's own context, and its operators for
offline login."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from tillcrm.api import (
    EnrollRequest,
    EnrollResponse,
    OverrideToReview,
    SupervisorVerified,
    SupervisorVerifyRequest,
    TillContext,
    TillRevoked,
)
from tillcrm.domain import Operator
from tillcrm.server.admin import overrides_to_review, revoke_till
from tillcrm.server.context import Admin, CurrentTill, Database
from tillcrm.server.db import reading, writing
from tillcrm.server.enrollment import enroll_till, require_database
from tillcrm.server.errors import ApiError
from tillcrm.server.openapi import error_responses
from tillcrm.server.operators import till_operators
from tillcrm.server.org_config import context_of
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.verification import verify_supervisor

router = APIRouter(route_class=JsonLimitsRoute)


@router.get("/health", responses=error_responses(503))
def health(engine: Database) -> dict[str, str]:
    """The CRM and its database answer, and the CRM's clock so a till can measure its own
    offset. A CRM whose database is gone answers 503: a till then keeps its ops queued and a
    load balancer or compose healthcheck takes the CRM out, rather than trusting a process
    that can only fail every write."""
    require_database(engine)
    return {"status": "ok", "time": datetime.now(UTC).isoformat()}


@router.post("/tills/enroll", status_code=201, responses=error_responses(401, 413, 422))
def enroll(body: EnrollRequest, engine: Database) -> EnrollResponse:
    """Exchange a one-time code for a till token. The code cannot be used again; of many
    requests racing with one code exactly one enrolls a till (see `enroll_till`)."""
    return enroll_till(engine, body.code.strip(), body.name)


@router.post("/admin/tills/{till_id}/revoke", responses=error_responses(401, 403, 404, 422))
def revoke(
    till_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")],
    _admin: Admin,
    engine: Database,
) -> TillRevoked:
    """Revoke a till's token at once (a stolen or retired till): its next request gets 401.

    For the CRM's administrator only (its admin token, see `context.Admin`). Revoking a
    revoked till again answers when it was first revoked.
    """
    with writing(engine) as conn:
        revoked_at = revoke_till(conn, till_id)
    if revoked_at is None:
        raise ApiError.not_found("till")
    return TillRevoked(till_id=till_id, revoked_at=revoked_at)


@router.get("/tills/me", responses=error_responses(401))
def me(till: CurrentTill, engine: Database, request: Request) -> TillContext:
    """The calling till's store, brand and organization, its fields and settings, and the
    largest request body the CRM reads."""
    with reading(engine) as conn:
        context = context_of(conn, till)
    return context.model_copy(update={"max_body_bytes": request.app.state.max_body_bytes})


@router.get("/operators", responses=error_responses(401))
def list_operators(till: CurrentTill, engine: Database) -> list[Operator]:
    """The active operators who may work at the till's store (`server.operators`), with
    PIN hashes: the till caches these so operators can log in and approve overrides offline,
    so a till's disk holds no other store's or organization's hashes."""
    with reading(engine) as conn:
        return till_operators(conn, till)


@router.post("/operators/verify", responses=error_responses(401, 403, 413, 422, 429))
def verify_operator(
    till: CurrentTill, engine: Database, body: SupervisorVerifyRequest
) -> SupervisorVerified:
    """Check a supervisor's PIN or badge against the CRM's own hash, for an override: the
    answer's `verification_id` goes on the approval, and lets one op of this till approved
    by this supervisor through, once, within minutes. 403 when it does not match; 429 with
    `Retry-After` once five wrong tries locked the operator. Every try is audited."""
    return verify_supervisor(engine, till, body)


@router.get("/admin/overrides/review", responses=error_responses(401, 403, 422))
def list_overrides_to_review(
    _admin: Admin, engine: Database, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[OverrideToReview]:
    """The overrides the CRM accepted without verifying the supervisor itself (given while
    the till was offline), newest first: for the CRM's administrator to review."""
    with reading(engine) as conn:
        return overrides_to_review(conn, limit=limit)
