"""Applying a till's pushed batch of ops: in the till's seq order, each op once.

The batch is first applied all or nothing (see `db.writing`): no savepoint per op, and the
rows nothing reads back (answers, receipts, ledger lines) inserted together at the COMMIT, so
an op costs a few round trips instead of ten. Almost every batch goes through like that. If
anything in it fails (an op rejected, a receipt's key refused at the COMMIT, an unexpected
error) none of it is kept, and the batch is applied again op by op, each in its own
savepoint (`_apply`), which answers it exactly as if the first try never happened.

The till's `till_sync` row is held for the batch: two connections pushing the same batch at
once queue on that row, and the second finds every op already answered.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from tillcrm.api import (
    Op,
    OpHeader,
    OpResult,
    OpStatus,
    OpType,
    PushResponse,
    PushStop,
    StopReason,
)
from tillcrm.server.context import Till
from tillcrm.server.db import writing
from tillcrm.server.errors import ApiError
from tillcrm.server.ops import (
    UnreadableOp,
    answer_again,
    execute_op,
    lock_customers,
    read_op,
    refuse_unreadable,
)
from tillcrm.server.ops.sales import TRANSACTION_NUMBER
from tillcrm.server.tables import applied_ops, till_sync

__all__ = ["push_batch"]


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


def push_batch(engine: Engine, till: Till, headers: list[OpHeader]) -> PushResponse:
    """Apply a pushed batch: all or nothing, else op by op (see the module's docstring)."""
    ops = [read_op(header) for header in headers]
    try:
        return _apply(engine, till, ops, all_or_nothing=True)
    except Exception:  # whatever it was, the op-by-op pass answers it
        return _apply(engine, till, ops, all_or_nothing=False)


def _apply(
    engine: Engine, till: Till, ops: list[Op | UnreadableOp], *, all_or_nothing: bool
) -> PushResponse:
    """Apply the ops in one database transaction, all or nothing (whatever fails, fails all of
    it: see `push_batch`), or else with each op in a SAVEPOINT of its own:
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
