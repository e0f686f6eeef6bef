"""Health, till enrollment, the till's own context, and its operators for offline login."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
import uuid6
from fastapi import APIRouter, Request

from tillcrm.api import EnrollRequest, EnrollResponse, TillContext
from tillcrm.domain import Operator
from tillcrm.server.context import CurrentTill, engine_of, hash_token, till_context
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.org_config import context_of
from tillcrm.server.tables import enrollment_codes, operators, till_sync, tills

router = APIRouter()


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness, and the CRM's clock so a till can measure its own offset."""
    return {"status": "ok", "time": datetime.now(UTC).isoformat()}


@router.post("/tills/enroll", status_code=201)
def enroll(body: EnrollRequest, request: Request) -> EnrollResponse:
    """Exchange a one-time code for a till token. The code cannot be used again."""
    now = datetime.now(UTC)
    with writing(engine_of(request)) as conn:
        code = conn.execute(
            sa.select(enrollment_codes).where(
                enrollment_codes.c.code_hash == hash_token(body.code.strip().upper())
            )
        ).one_or_none()
        expires_at = code.expires_at.replace(tzinfo=UTC) if code else None
        if code is None or code.used_by_till is not None or expires_at is None or expires_at < now:
            raise ApiError(401, "bad_code", "enrollment code is unknown, used or expired")
        till_id = str(uuid6.uuid7())
        token = secrets.token_urlsafe(32)
        conn.execute(
            tills.insert().values(
                id=till_id,
                store_id=code.store_id,
                name=body.name,
                token_hash=hash_token(token),
                enrolled_at=now,
            )
        )
        conn.execute(till_sync.insert().values(till_id=till_id, last_seq=0))
        conn.execute(
            enrollment_codes.update()
            .where(enrollment_codes.c.code_hash == code.code_hash)
            .values(used_by_till=till_id)
        )
        return EnrollResponse(token=token, context=context_of(conn, till_context(conn, till_id)))


@router.get("/tills/me")
def me(till: CurrentTill, request: Request) -> TillContext:
    """The calling till's store, brand and organization, its fields and settings."""
    with reading(engine_of(request)) as conn:
        return context_of(conn, till)


@router.get("/operators")
def list_operators(till: CurrentTill, request: Request) -> list[Operator]:
    """The operators of the till's organization (and its connected parent), with PIN hashes.

    The till caches these so operators can log in and approve overrides while offline.
    """
    org_ids = [till.org.id] + ([till.parent.id] if till.parent else [])
    with reading(engine_of(request)) as conn:
        rows = conn.execute(
            sa.select(operators).where(operators.c.org_id.in_(org_ids)).order_by(operators.c.code)
        ).all()
    return [Operator.model_validate(row._asdict()) for row in rows]
