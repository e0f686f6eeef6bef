"""REST write paths as ops: a write made over REST is applied exactly like a pushed op.

Each write builds an `Op` (its id from the `Idempotency-Key` header, so a retried request is
answered once) and runs it through the op registry, so the same applier enforces the same rules
for the till's outbox and for online writes. The answer is recorded even when a rule refuses
it: a retry with the same key gets the same refusal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import uuid6
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, WithJsonSchema
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tillcrm.api import ErrorBody, FieldProblem, Op, OpResult, OpStatus, OpType
from tillcrm.domain import NO_NUL, OverrideApproval
from tillcrm.server.context import CurrentTill, Till, engine_of
from tillcrm.server.db import reading
from tillcrm.server.errors import ApiError
from tillcrm.server.operators import acting_refusal
from tillcrm.server.ops import execute_op, stored_result

__all__ = ["IdempotencyKey", "OperatorId", "apply_op", "make_op"]


def _acting_operator(
    till: CurrentTill,
    request: Request,
    operator_id: Annotated[
        str,
        Header(
            alias="X-Operator-Id",
            min_length=1,
            max_length=64,
            pattern=NO_NUL,
            description="who acts",
        ),
    ],
) -> str:
    """The header's operator when they may act at this till (`acting_refusal`), else 422."""
    with reading(engine_of(request)) as conn:
        refusal = acting_refusal(conn, till, operator_id)
    if refusal is not None:
        problem = FieldProblem(field="X-Operator-Id", message="is not an operator of this store")
        raise ApiError(422, "invalid", refusal, [problem])
    return operator_id


OperatorId = Annotated[str, Depends(_acting_operator)]
"""The operator logged in at the till: every write is attributed to one (audit log), who
must be an active operator of the till's store."""

IdempotencyKey = Annotated[
    UUID | None,
    # A header is absent or a string: documented as "a UUID or null", a client sent "null".
    WithJsonSchema({"type": "string", "format": "uuid"}),
    Header(alias="Idempotency-Key", description="a UUID; a retry with it is applied once"),
]


def make_op(
    op_type: OpType,
    customer_id: UUID | None,
    payload: BaseModel,
    *,
    operator_id: str,
    key: UUID | None,
    base_version: int | None = None,
    override: OverrideApproval | None = None,
) -> Op:
    """The op for one REST write. A new customer without an id takes the op id as its id,
    so a retried create names the same customer."""
    op_id = key or UUID(str(uuid6.uuid7()))
    return Op(
        op_id=op_id,
        type=op_type,
        entity_id=customer_id or op_id,
        base_version=base_version,
        payload=payload.model_dump(mode="json"),
        local_ts=datetime.now(UTC),
        operator_id=operator_id,
        override=override,
    )


def apply_op(conn: Connection, till: Till, op: Op) -> JSONResponse | None:
    """Apply `op` once in the caller's transaction (a retry gets the first answer again).

    Returns the HTTP answer when the op was refused, None when it went through.
    """
    stored = stored_result(conn, till, op)
    return _refusal(stored if stored is not None else _execute_once(conn, till, op))


def _execute_once(conn: Connection, till: Till, op: Op) -> OpResult:
    """Apply a new op; if a request with the same key got there first, its answer.

    On PostgreSQL two requests with one key at once both find no answer yet and both apply
    the op; the second then meets the first's rows (the ledger's or `applied_ops`' key on the
    op id) once the first commits: a unique violation. That is a retry, not an error: its
    writes are undone and it answers what the first recorded. SQLite runs one writer at a
    time, so there the second simply finds the answer.
    """
    savepoint = conn.begin_nested()
    try:
        result = execute_op(conn, till, op, seq=None)
    except IntegrityError:
        savepoint.rollback()
        first = stored_result(conn, till, op)
        if first is None:  # a unique violation of its own, not a concurrent retry
            raise
        return first
    savepoint.commit()
    return result


def _refusal(result: OpResult) -> JSONResponse | None:
    """The HTTP answer for a refused op: 409 with the current customer for a version
    conflict, 422 with the reason for any other rule; None when the op went through."""
    if result.status is not OpStatus.REJECTED:
        return None
    if "current" in result.result:
        body = ErrorBody(detail=result.reason, code="version_conflict").model_dump()
        return JSONResponse({**body, "current": result.result["current"]}, status_code=409)
    body = ErrorBody(detail=result.reason, code="rejected").model_dump()
    return JSONResponse(body, status_code=422)
