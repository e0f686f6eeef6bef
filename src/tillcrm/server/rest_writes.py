"""REST write paths as ops: a write made over REST is applied exactly like a pushed op.

Each write builds an `Op` (its id from the `Idempotency-Key` header, so a retried request is
answered once) and runs it through the op registry, so the same applier enforces the same rules
for the till's outbox and for online writes. The answer is recorded even when a rule refuses
it: a retry with the same key gets the same refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, WithJsonSchema
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from tillcrm.api import ErrorBody, FieldProblem, Op, OpResult, OpStatus, OpType
from tillcrm.domain import NO_NUL, OverrideApproval
from tillcrm.domain.ids import new_id
from tillcrm.server.context import CurrentTill, Database, Till
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.operators import acting_refusal
from tillcrm.server.ops import execute_op, stored_result
from tillcrm.server.scope import require_visible_customer

__all__ = ["IdempotencyKey", "OperatorId", "answer_applied", "make_op", "write_op"]

T = TypeVar("T")


def _acting_operator(
    till: CurrentTill,
    engine: Database,
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
    with reading(engine) as conn:
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
    op_id = key or new_id()
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


def answer_applied(
    conn: Connection, till: Till, op: Op, answer: Callable[[Connection], T]
) -> T | JSONResponse:
    """Apply `op` once in the caller's transaction (a retry gets the first answer again),
    then `answer` in the same transaction, so the answer shows the write; the HTTP answer of
    the refusal instead when a rule refused the op."""
    stored = stored_result(conn, till, op)
    refused = _refusal(stored if stored is not None else _execute_once(conn, till, op))
    if refused is not None:
        return refused
    return answer(conn)


def write_op(
    engine: Engine,
    till: Till,
    op: Op,
    answer: Callable[[Connection], T],
    *,
    check: Callable[[Connection], object] | None = None,
) -> T | JSONResponse:
    """A REST write in one transaction: the op's customer must be one the till sees (404
    otherwise; a customer the op creates has none to find yet), then `check` (a further
    404), then `answer_applied`. One place for what every such route does."""
    with writing(engine) as conn:
        if op.type is not OpType.CUSTOMER_CREATE:
            require_visible_customer(conn, till, op.entity_id)
        if check is not None:
            check(conn)
        return answer_applied(conn, till, op, answer)


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
