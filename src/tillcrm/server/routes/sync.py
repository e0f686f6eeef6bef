"""Sync protocol v1: a till pushes its outbox and pulls the changes in its scope.

Push applies each op in its own transaction, in the till's seq order, holding the till's
`till_sync` row: two connections pushing the same batch at once queue on that row, and the
second finds every op already answered. Pull pages through customers by `change_seq`, a counter
the CRM assigns at commit, so the cursor is the CRM's and never the till's clock.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.engine import Connection

from tillcrm.api import Op, OpResult, PullResponse, PushRequest, PushResponse
from tillcrm.server.context import CurrentTill, Till, engine_of
from tillcrm.server.customer_view import customers_out
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.ops import execute_op, payload_hash, stored_result
from tillcrm.server.scope import visible_to
from tillcrm.server.tables import applied_ops, customers, till_sync

router = APIRouter()

PULL_PAGE = 1000
MAX_PULL_PAGE = 5000


def _refuse_reused_keys(conn: Connection, till: Till, ops: list[Op]) -> None:
    """422 before anything applies when an op id was used with another payload, or a seq
    already applied belongs to another op: the till's outbox is corrupt, not merely resent."""
    known = {
        row.op_id: row
        for row in conn.execute(
            sa.select(applied_ops.c.op_id, applied_ops.c.payload_hash).where(
                applied_ops.c.op_id.in_([op.op_id for op in ops])
            )
        )
    }
    for op in ops:
        row = known.get(op.op_id)
        if row is not None and row.payload_hash != payload_hash(op):
            raise ApiError(
                422, "op_id_reused", f"op {op.op_id} was already used with a different payload"
            )
    by_seq = {op.seq: op.op_id for op in ops}
    for row in conn.execute(
        sa.select(applied_ops.c.seq, applied_ops.c.op_id).where(
            applied_ops.c.till_id == till.id, applied_ops.c.seq.in_(list(by_seq))
        )
    ):
        if by_seq[row.seq] != row.op_id:
            raise ApiError(422, "seq_reused", f"seq {row.seq} was already used by op {row.op_id}")


def _locked_last_seq(conn: Connection, till: Till) -> int:
    """The till's last applied seq, its row locked until this transaction ends."""
    return int(
        conn.execute(
            sa.select(till_sync.c.last_seq).where(till_sync.c.till_id == till.id).with_for_update()
        ).scalar_one()
    )


def _push_one(conn: Connection, till: Till, op: Op, seq: int) -> tuple[OpResult | None, int]:
    """Answer one op in its own transaction: (its result, the till's last seq after it).

    No result means a gap: an earlier op has not arrived, so this one and the rest wait.
    """
    last_seq = _locked_last_seq(conn, till)
    if seq > last_seq + 1:
        return None, last_seq
    stored = stored_result(conn, op)
    if stored is None and seq <= last_seq:
        raise ApiError(422, "seq_reused", f"seq {seq} was already used by another op")
    if stored is None:
        stored = execute_op(conn, till, op, seq=seq)
    if seq == last_seq + 1:  # also an op first answered on a REST path: its seq is used now
        conn.execute(till_sync.update().where(till_sync.c.till_id == till.id).values(last_seq=seq))
        last_seq = seq
    return stored, last_seq


@router.post("/sync/push")
def push(till: CurrentTill, request: Request, body: PushRequest) -> PushResponse:
    """Apply a batch of ops in seq order, each once; stop at a gap.

    A rejection is an answer like any other: it is stored and the seq advances, so one bad op
    never blocks the queue behind it.
    """
    engine = engine_of(request)
    with reading(engine) as conn:
        _refuse_reused_keys(conn, till, body.ops)
    results: list[OpResult] = []
    last_seq = 0  # every op reports the till's last seq; a batch is never empty
    for op in body.ops:
        if op.seq is None:  # PushRequest refuses such a batch; this narrows the type
            raise ApiError(422, "invalid", f"op {op.op_id} has no seq")
        with writing(engine) as conn:
            result, last_seq = _push_one(conn, till, op, op.seq)
        if result is None:
            break
        results.append(result)
    return PushResponse(results=results, last_seq=last_seq)


@router.get("/sync/pull", response_model=PullResponse)
def pull(
    till: CurrentTill,
    request: Request,
    cursor: Annotated[str, Query(max_length=20, pattern=r"^\d*$")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_PAGE)] = PULL_PAGE,
) -> Response:
    """Customers in the till's scope changed after `cursor` ("" for everything), oldest
    change first; the answer's cursor is where the next page starts.

    The page is serialized here rather than returned as a model: FastAPI would validate every
    customer of it a second time, which doubled the cost of a first full pull.
    """
    after = int(cursor or 0)
    with reading(engine_of(request)) as conn:
        rows = conn.execute(
            sa.select(customers)
            .where(visible_to(till), customers.c.change_seq > after)
            .order_by(customers.c.change_seq)
            .limit(limit + 1)
        ).all()
        page = rows[:limit]
        out = customers_out(conn, till, page)
    body = PullResponse(
        customers=out,
        cursor=str(page[-1].change_seq) if page else str(after),
        more=len(rows) > limit,
    )
    return Response(body.model_dump_json(), media_type="application/json")
