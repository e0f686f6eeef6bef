"""Sync protocol v1: a till pushes its outbox and pulls the changes in its scope.

Push applies a batch in one transaction in the till's seq order (all or nothing first; if
anything in it failed, again with each op in its own savepoint), holding the till's `till_sync`
row: two connections pushing the same batch at once queue on that row, and the second finds
every op already answered. Pull pages through customers by `change_seq`, a counter the CRM
assigns at commit, so the cursor is the CRM's and never the till's clock.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator
from sqlalchemy.engine import Connection, Engine, Row

from tillcrm.api import (
    Op,
    OpHeader,
    OpResult,
    OpStatus,
    OpType,
    PullResponse,
    PushedBatch,
    PushResponse,
    PushStop,
    StopReason,
)
from tillcrm.domain import INT64_MAX
from tillcrm.server.context import CurrentTill, Till, engine_of
from tillcrm.server.customer_view import customers_in_scope, customers_json
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.metrics import metrics_of
from tillcrm.server.openapi import error_responses
from tillcrm.server.ops import (
    UnreadableOp,
    answer_again,
    execute_op,
    lock_customers,
    read_op,
    refuse_unreadable,
)
from tillcrm.server.ops.sales import TRANSACTION_NUMBER
from tillcrm.server.pages_ahead import PagesAhead, PullPage
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.tables import applied_ops, till_sync

router = APIRouter(route_class=JsonLimitsRoute, responses=error_responses(401, 422))

PULL_PAGE = 1000
MAX_PULL_PAGE = 5000


def _answered(conn: Connection, till: Till, ops: list[Op | UnreadableOp]) -> dict[UUID, OpResult]:
    """The batch's ops the CRM has already answered, by op id, as duplicates.

    An op id used before with another payload, or by another till, is answered as rejected
    (see `_again_or_refused`). One query for the whole batch: its op ids (one may have been
    answered for a REST write of the till, or be another till's). An op answered under
    another seq (the till renumbered its unsent ops) is recognised by its id all the same.
    """
    by_id = {op.op_id: op for op in ops}
    answered: dict[UUID, OpResult] = {}
    for row in conn.execute(sa.select(applied_ops).where(applied_ops.c.op_id.in_(by_id))):
        answered[row.op_id] = _again_or_refused(till, by_id[row.op_id], row)
    return answered


def _again_or_refused(till: Till, op: Op | UnreadableOp, row: Row[Any]) -> OpResult:
    """The stored answer for a resent op; an op id already used with another payload (or by
    another till) is refused as that op's answer (its seq still advances), so one poison op
    never blocks the till's queue behind it. Not recorded (the op id is the other op's): a
    resend is refused the same way."""
    try:
        return answer_again(till, op, row)
    except ApiError as exc:
        return OpResult(op_id=op.op_id, seq=op.seq, status=OpStatus.REJECTED, reason=exc.detail)


def _locked_last_seq(conn: Connection, till: Till) -> int:
    """The till's last applied seq, its row locked until this transaction ends."""
    return int(
        conn.execute(
            sa.select(till_sync.c.last_seq).where(till_sync.c.till_id == till.id).with_for_update()
        ).scalar_one()
    )


def _push_one(
    conn: Connection, till: Till, op: Op | UnreadableOp, last_seq: int, answered: OpResult | None
) -> OpResult | PushStop:
    """Answer the op after the till's `last_seq`, or say why the CRM stops at it (see
    `_stop`): this op and the rest wait."""
    seq = op.seq or 0
    if seq > last_seq + 1 or (answered is None and seq <= last_seq):
        return _stop(conn, till, seq, last_seq)
    if answered is not None:
        return answered
    if isinstance(op, UnreadableOp):
        return refuse_unreadable(conn, till, op)
    return execute_op(conn, till, op, seq=seq)


def _stop(conn: Connection, till: Till, seq: int, last_seq: int) -> PushStop:
    """Why the CRM takes no op from `seq` on, for the till to show as its blocking problem:
    an earlier op has not arrived (a gap), or the seq is already another op's (the till's
    database is older than the CRM's record of it). Only ever the till's own op is named."""
    if seq > last_seq + 1:
        return PushStop(
            seq=seq,
            reason=StopReason.GAP,
            detail=(
                f"the CRM has this till's ops up to seq {last_seq} and takes them in order: "
                f"op {last_seq + 1} has not reached it, so op {seq} and the ops after it wait"
            ),
        )
    other = conn.execute(
        sa.select(applied_ops.c.op_id).where(
            applied_ops.c.till_id == till.id, applied_ops.c.seq == seq
        )
    ).scalar_one_or_none()
    return PushStop(
        seq=seq,
        reason=StopReason.SEQ_TAKEN,
        detail=(
            f"seq {seq} was already used by op {other}: the CRM has this till's ops up to "
            f"seq {last_seq}, so this till's database is older than the CRM's record of it "
            "(restored from an old copy?)"
        ),
    )


PUSH_SLOTS = 2
"""How many pushes one CRM process applies at once; the others wait their turn without a
thread or a database connection.

A push is Python work between database round trips, and a process runs Python on one core
at a time (the GIL). With every till's push in its own thread, each round trip's answer waited
for the GIL behind the other pushes, and the threads' hand-offs cost a third of the process's
CPU in the kernel: 20 tills pushing on PostgreSQL gave 820 ops/s. Two at a time, one runs
Python while the other waits for the database: 1,060-1,130 ops/s (1 gave 970, 3 gave 1,040,
4 gave 1,020); SQLite, whose writes are one at a time anyway, is no slower. After an op's
statements were cut (0.96 -> 0.64 ms of CPU an op), 2 and 3 slots measured the same
(1,345-1,434 and 1,333-1,429 ops/s). A chain that needs more runs more processes (the service
keeps no state of its own)."""


def push_limiter() -> CapacityLimiter:
    """The limiter of one app's pushes (see `PUSH_SLOTS`); `create_app` makes one per app."""
    return CapacityLimiter(PUSH_SLOTS)


@router.post("/sync/push", responses=error_responses(413))
async def push(till: CurrentTill, request: Request, body: PushedBatch) -> PushResponse:
    """Apply a batch of ops (each an `Op`) in seq order, each once; stop at a gap, or at a
    seq already another op's, and say so in the answer (`stopped`).

    A rejection is an answer like any other: it is stored and the seq advances, so one bad op
    never blocks the queue behind it. That holds for an op this CRM cannot read as well (an
    op type or a field it does not know): its rejection is stored for its seq.

    The batch is first applied all or nothing (see `db.writing`): no savepoint per op, and
    the rows nothing reads back (answers, receipts, ledger lines) inserted together at the
    COMMIT, so an op costs a few round trips instead of ten. Almost every batch goes through
    like that. If anything in it fails (an op rejected, a receipt's key refused at the COMMIT,
    an unexpected error) none of it is kept, and the batch is applied again op by op, each in
    its own savepoint (`_apply`), which answers it exactly as if the first try never
    happened. It runs in a worker thread once one of the app's push slots is free.
    """
    limiter: CapacityLimiter = request.app.state.push_limiter
    answer = await to_thread.run_sync(_push, engine_of(request), till, body.ops, limiter=limiter)
    metrics_of(request).pushed(answer.results)
    return answer


def _push(engine: Engine, till: Till, headers: list[OpHeader]) -> PushResponse:
    """`push`'s work: all or nothing, else op by op."""
    ops = [read_op(header) for header in headers]
    try:
        return _apply(engine, till, ops, all_or_nothing=True)
    except Exception:  # whatever it was, the op-by-op pass answers it
        return _apply(engine, till, ops, all_or_nothing=False)


def _apply(
    engine: Engine, till: Till, ops: list[Op | UnreadableOp], *, all_or_nothing: bool
) -> PushResponse:
    """Apply the ops in one database transaction, all or nothing (whatever fails, fails all of
    it: see `push`), or else with each op in a SAVEPOINT of its own:
    - a commit is an fsync (SQLite `synchronous=FULL`, PostgreSQL's WAL flush), so one commit
      per op capped push at a few dozen ops a second; one per batch of 200 does not;
    - the savepoint (`execute_op`'s) keeps the ops apart: a business rejection rolls back only
      its own op's writes and is then recorded, and an op that fails unexpectedly is rolled
      back alone, the ops before it are committed, and the error is raised (500) so the till
      retries from that op, exactly as when each op committed on its own. What runs outside
      the savepoint is reading what the batch already answered and recording each answer;
    - the answer is sent only after the COMMIT, so an op the till sees acked is durable. If the
      commit fails the till gets an error for the whole batch and resends it; the op ids make
      that resend safe;
    - the till's `till_sync` row is locked for the whole batch, so two connections pushing the
      same batch queue on it and the second finds every op already answered. On SQLite the
      batch holds the write lock (`BEGIN IMMEDIATE`) while it applies; other tills' batches
      wait for it rather than fail;
    - nothing else is locked for the whole batch: on PostgreSQL tills push side by side. The
      batch's receipt numbers are reserved before it starts (a resent or refused sale leaves
      its number unused), and the pull cursor's change sequence is taken at its COMMIT (see
      `db.writing` and `db.change_seq`).
    """
    results: list[OpResult] = []
    stopped: PushStop | None = None
    failure: Exception | None = None
    readable = [op for op in ops if isinstance(op, Op)]
    sales = sum(op.type is OpType.SALE for op in readable)
    reserve = {TRANSACTION_NUMBER: sales}
    with writing(engine, reserve=reserve, all_or_nothing=all_or_nothing) as conn:
        first_seq = last_seq = _locked_last_seq(conn, till)
        answered = _answered(conn, till, ops)
        lock_customers(conn, till, {op.entity_id for op in readable if op.op_id not in answered})
        for op in ops:
            try:
                result = _push_one(conn, till, op, last_seq, answered.get(op.op_id))
            except Exception as exc:  # re-raised once the ops before it are committed
                if all_or_nothing:
                    raise
                failure = exc
                break
            if isinstance(result, PushStop):
                stopped = result
                break
            results.append(result)
            if op.seq == last_seq + 1:  # also an op first answered on a REST path
                last_seq = op.seq
        if last_seq != first_seq:
            conn.execute(
                till_sync.update().where(till_sync.c.till_id == till.id).values(last_seq=last_seq)
            )
    if failure is not None:
        raise failure
    return PushResponse(results=results, last_seq=last_seq, stopped=stopped)


def _within_int64(cursor: str) -> str:
    """A cursor is a change sequence number: a signed 64-bit integer."""
    if cursor and int(cursor) > INT64_MAX:
        raise ValueError(f"a cursor is at most {INT64_MAX}")
    return cursor


@router.get("/sync/pull", response_model=PullResponse)
def pull(
    till: CurrentTill,
    request: Request,
    cursor: Annotated[
        str, Query(max_length=19, pattern=r"^\d*$"), AfterValidator(_within_int64)
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_PAGE)] = PULL_PAGE,
) -> Response:
    """Customers in the till's scope changed after `cursor` ("" for everything), oldest
    change first; the answer's cursor is where the next page starts.

    The page is written as JSON text here rather than returned as a model: a first full pull
    reads the whole scope, and validating every stored customer again (on the way in and again
    in FastAPI) cost more than everything else. `PullResponse` is still the answer's schema.
    When more follows, the next page is built while the till stores this one (`PagesAhead`).
    """
    engine = engine_of(request)
    ahead: PagesAhead = request.app.state.pages_ahead

    def ops_applied() -> int:
        with reading(engine) as conn:
            return _ops_applied(conn, till)

    page = ahead.page(
        till.id,
        till,
        int(cursor or 0),
        limit,
        build=lambda after, size: _pull_page(engine, till, after, size),
        ops_applied=ops_applied,
    )
    metrics_of(request).pulled_page()
    return Response(page.body, media_type="application/json")


def _pull_page(engine: Engine, till: Till, after: int, limit: int) -> PullPage:
    """The till's customers changed after change `after`, at most `limit`, as the answer's
    JSON; built when asked for, or ahead of the request (`PagesAhead`). A full pull's first
    page (`after` 0) also counts the scope, for the till's progress."""
    with reading(engine) as conn:
        # Read before the customers: a push committed between the two makes the page newer
        # than this seq says, never older, so a page built ahead is at worst built again.
        applied = _ops_applied(conn, till)
        total = customers_in_scope(conn, till) if after == 0 else None
        found = customers_json(conn, till, after, limit + 1)
    page = found[:limit]
    next_cursor = page[-1].change_seq if page else after
    more = len(found) > limit
    listed = ",".join(customer.text for customer in page)
    body = (
        f'{{"customers":[{listed}],"cursor":"{next_cursor}","more":{"true" if more else "false"},'
        f'"total":{"null" if total is None else total}}}'
    )
    return PullPage(body, next_cursor, more, applied)


def _ops_applied(conn: Connection, till: Till) -> int:
    """The seq of the till's last answered op (0 before its first)."""
    seq = conn.execute(
        sa.select(till_sync.c.last_seq).where(till_sync.c.till_id == till.id)
    ).scalar_one_or_none()
    return int(seq or 0)
