"""Health, till enrollment and revocation, the till's own context, and its operators for
offline login."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
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
from tillcrm.domain.ids import new_id
from tillcrm.server.admin import overrides_to_review, revoke_till
from tillcrm.server.context import Admin, CurrentTill, engine_of, hash_token, till_context
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.openapi import error_responses
from tillcrm.server.operators import till_operators
from tillcrm.server.org_config import context_of
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.tables import enrollment_codes, till_sync, tills
from tillcrm.server.verification import verify_supervisor

router = APIRouter(route_class=JsonLimitsRoute)


@router.get("/health", responses=error_responses(503))
def health(request: Request) -> dict[str, str]:
    """The CRM and its database answer, and the CRM's clock so a till can measure its own
    offset. A CRM whose database is gone answers 503: a till then keeps its ops queued and a
    load balancer or compose healthcheck takes the CRM out, rather than trusting a process
    that can only fail every write."""
    try:
        with reading(engine_of(request)) as conn:
            conn.execute(sa.select(tills.c.id).limit(1))
    except sa.exc.DBAPIError as exc:
        raise ApiError(503, "database_unavailable", "the CRM's database does not answer") from exc
    return {"status": "ok", "time": datetime.now(UTC).isoformat()}


@router.post("/tills/enroll", status_code=201, responses=error_responses(401, 413, 422))
def enroll(body: EnrollRequest, request: Request) -> EnrollResponse:
    """Exchange a one-time code for a till token. The code cannot be used again.

    The code is compared exactly as issued, and claimed by one conditional UPDATE before
    anything else is written, so of many requests racing with one code exactly one enrolls a
    till: on PostgreSQL the others wait on the claimer's row lock and then find the code used
    (READ COMMITTED checks the WHERE again on the row as committed), or claim it themselves if
    the claimer rolled back; on SQLite writers take turns anyway.
    """
    now = datetime.now(UTC)
    till_id = str(new_id())
    token = secrets.token_urlsafe(32)
    with writing(engine_of(request)) as conn:
        store_id = conn.execute(
            enrollment_codes.update()
            .where(
                enrollment_codes.c.code_hash == hash_token(body.code.strip()),
                enrollment_codes.c.used_by_till.is_(None),
                enrollment_codes.c.expires_at > now,
            )
            .values(used_by_till=till_id)
            .returning(enrollment_codes.c.store_id)
        ).scalar_one_or_none()
        if store_id is None:
            raise ApiError(401, "bad_code", "enrollment code is unknown, used or expired")
        conn.execute(
            tills.insert().values(
                id=till_id,
                store_id=store_id,
                name=body.name,
                token_hash=hash_token(token),
                enrolled_at=now,
            )
        )
        conn.execute(till_sync.insert().values(till_id=till_id, last_seq=0))
        return EnrollResponse(token=token, context=context_of(conn, till_context(conn, till_id)))


@router.post("/admin/tills/{till_id}/revoke", responses=error_responses(401, 403, 404, 422))
def revoke(
    till_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")],
    _admin: Admin,
    request: Request,
) -> TillRevoked:
    """Revoke a till's token at once (a stolen or retired till): its next request gets 401.

    For the CRM's administrator only (its admin token, see `context.Admin`). Revoking a
    revoked till again answers when it was first revoked.
    """
    with writing(engine_of(request)) as conn:
        revoked_at = revoke_till(conn, till_id)
    if revoked_at is None:
        raise ApiError.not_found("till")
    return TillRevoked(till_id=till_id, revoked_at=revoked_at)


@router.get("/tills/me", responses=error_responses(401))
def me(till: CurrentTill, request: Request) -> TillContext:
    """The calling till's store, brand and organization, its fields and settings, and the
    largest request body the CRM reads."""
    with reading(engine_of(request)) as conn:
        context = context_of(conn, till)
    return context.model_copy(update={"max_body_bytes": request.app.state.max_body_bytes})


@router.get("/operators", responses=error_responses(401))
def list_operators(till: CurrentTill, request: Request) -> list[Operator]:
    """The active operators who may work at the till's store (`server.operators`), with
    PIN hashes: the till caches these so operators can log in and approve overrides offline,
    so a till's disk holds no other store's or organization's hashes."""
    with reading(engine_of(request)) as conn:
        return till_operators(conn, till)


@router.post("/operators/verify", responses=error_responses(401, 403, 413, 422, 429))
def verify_operator(
    till: CurrentTill, request: Request, body: SupervisorVerifyRequest
) -> SupervisorVerified:
    """Check a supervisor's PIN or badge against the CRM's own hash, for an override: the
    answer's `verification_id` goes on the approval, and lets one op of this till approved
    by this supervisor through, once, within minutes. 403 when it does not match; 429 with
    `Retry-After` once five wrong tries locked the operator. Every try is audited."""
    return verify_supervisor(engine_of(request), till, body)


@router.get("/admin/overrides/review", responses=error_responses(401, 403, 422))
def list_overrides_to_review(
    _admin: Admin, request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[OverrideToReview]:
    """The overrides the CRM accepted without verifying the supervisor itself (given while
    the till was offline), newest first: for the CRM's administrator to review."""
    with reading(engine_of(request)) as conn:
        return overrides_to_review(conn, limit=limit)
