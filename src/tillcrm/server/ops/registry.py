"""The registry of op appliers and the one function that runs an op exactly once.

`execute_op` runs inside the caller's transaction: it applies the op with its registered
applier, and records the answer in `applied_ops` keyed by the op id. The push path adds seq
ordering around it; the REST paths call it with `seq=None`. Either way a resent op id gets the
stored answer, and the same op id with another payload is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.dml import ReturningUpdate

from tillcrm.api import Op, OpHeader, OpResult, OpStatus, OpType
from tillcrm.domain import OverrideApproval, TillScope
from tillcrm.server.context import Till
from tillcrm.server.db import all_or_nothing, change_seq, changes_here, insert_later, memo_of
from tillcrm.server.errors import ApiError, Rejection, storable
from tillcrm.server.operators import acting_refusal
from tillcrm.server.scope import visible_in
from tillcrm.server.tables import applied_ops, customers

__all__ = [
    "APPLIERS",
    "Applier",
    "Conflict",
    "OpContext",
    "Outcome",
    "UnreadableOp",
    "answer_again",
    "applies",
    "execute_op",
    "lock_customers",
    "payload_hash",
    "read_op",
    "refuse_unreadable",
    "stored_result",
    "touch_customer",
    "touch_customer_returning",
    "visible_customer",
]


@dataclass(frozen=True)
class OpContext:
    """Everything an applier may use besides its payload."""

    conn: Connection
    till: Till
    op_id: UUID
    entity_id: UUID
    operator_id: str
    base_version: int | None
    override: OverrideApproval | None
    offline: bool
    at: datetime
    """When the CRM applies the op (never the till's clock)."""
    local_ts: datetime
    """When the till says it happened: shown on receipts, never used for ordering or limits."""


@dataclass
class Outcome:
    """What an applier did: its result, and a reason when the op applied but needs review."""

    result: dict[str, Any] = field(default_factory=dict)
    needs_review: str = ""


class Conflict(Rejection):
    """The op was made against an older version of the customer; `current` is the CRM's."""

    def __init__(self, reason: str, current: dict[str, Any]) -> None:
        super().__init__(reason)
        self.current = current


Applier = Callable[[OpContext, Any], Outcome]
APPLIERS: dict[OpType, Applier] = {}


def applies(op_type: OpType) -> Callable[[Applier], Applier]:
    """Register the applier of `op_type` (one per type)."""

    def register(func: Applier) -> Applier:
        if op_type in APPLIERS:
            raise RuntimeError(f"two appliers for {op_type}")
        APPLIERS[op_type] = func
        return func

    return register


_RESENT_AS_IS: set[str] = {"type", "entity_id", "base_version", "payload", "override"}
"""The fields a resend must repeat to be a resend: type, customer, payload, override."""


@dataclass(frozen=True)
class UnreadableOp:
    """A pushed op this CRM cannot read: an op type it does not take, a field it refuses (a
    till newer than the CRM sends such ops), or one the till withheld (sent without its
    payload, with why). It is rejected alone, with `reason`, and its seq advances like any
    other answer's, so the ops after it apply; nothing of it runs, so its batch still goes
    through all or nothing."""

    op_id: UUID
    seq: int
    type: str
    """The type as the till sent it, cut to what `applied_ops` stores."""
    fields: dict[str, Any]
    """What a resend must repeat (see `_RESENT_AS_IS`), as sent."""
    reason: str


def read_op(header: OpHeader) -> Op | UnreadableOp:
    """A pushed op read whole, or, when this CRM cannot read or apply it, why not."""
    sent = {**(header.model_extra or {}), "op_id": header.op_id, "seq": header.seq}
    try:
        op = Op.model_validate(sent)
    except ValidationError as exc:
        reason = "this CRM cannot read the op: " + "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
    else:
        if op.withheld is not None:  # sent without its payload: the till's reason stands
            fields = op.model_dump(mode="json", include=_RESENT_AS_IS)
            return UnreadableOp(header.op_id, header.seq, op.type.value, fields, op.withheld)
        if op.type in APPLIERS:
            return op
        reason = f"this CRM does not take {op.type.value} ops"
    kind = sent.get("type")
    return UnreadableOp(
        op_id=header.op_id,
        seq=header.seq,
        type=storable(kind if isinstance(kind, str) else repr(kind))[:32],
        fields={key: value for key, value in sent.items() if key in _RESENT_AS_IS},
        reason=reason,
    )


def payload_hash(op: Op | UnreadableOp) -> str:
    """What must be the same for a resend to be a resend (see `_RESENT_AS_IS`).

    An override without a verification hashes as it did before approvals could carry one,
    so an op answered before then still answers its resend.
    """
    material = (
        dict(op.fields)
        if isinstance(op, UnreadableOp)
        else op.model_dump(mode="json", include=_RESENT_AS_IS)
    )
    override = material.get("override")
    if isinstance(override, dict) and override.get("verification_id") is None:
        material["override"] = {k: v for k, v in override.items() if k != "verification_id"}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def stored_result(conn: Connection, till: Till, op: Op) -> OpResult | None:
    """The answer already given for this op id (see `answer_again`); None for a new op."""
    row = conn.execute(sa.select(applied_ops).where(applied_ops.c.op_id == op.op_id)).one_or_none()
    return answer_again(till, op, row) if row is not None else None


def answer_again(till: Till, op: Op | UnreadableOp, row: Row[Any]) -> OpResult:
    """The answer recorded in `row` (op's `applied_ops` row) for `till`'s resend; 422 if the
    payload differs.

    An applied op answers `duplicate`. A rejected or flagged op answers `rejected` or
    `needs_review` again: a till whose first answer was lost must still put the op among its
    dead letters or review items, never take it for acknowledged.

    Answers are per till: an op id another till used is refused exactly like a different
    payload (the till is part of what a resend must repeat), so a replayed or cloned op gets
    nothing of the first till's answer (no balances, no result) nor learns whose op it was.
    The op id stays unique among all tills' answers: the replay is not applied either.
    """
    if row.till_id != till.id or row.payload_hash != payload_hash(op):
        raise ApiError(
            422, "op_id_reused", f"op {op.op_id} was already used with a different payload"
        )
    first = OpStatus(row.status)
    return OpResult(
        op_id=op.op_id,
        seq=row.seq if row.seq is not None else op.seq,
        status=OpStatus.DUPLICATE if first is OpStatus.APPLIED else first,
        reason=row.reason,
        result=row.result,
    )


def visible_customer(ctx: OpContext, *columns: ColumnElement[Any]) -> Row[Any]:
    """The op's customer, row-locked until the op commits; a rejection when the till may not
    see it. Out of scope reads exactly like absent, so a rejection never reveals a customer.

    `columns` (of `customers`) are the ones read, every column when none are named: an op
    that reads a few names them, as each column costs on every op of a push. A customer whose
    whole row the transaction already holds as it is now (read by `lock_customers`, or
    returned by the touch that ended an earlier op: see `touch_customer_returning`) is not
    read again; any change since (`db.change_seq`) means it is.

    The lock (a no-op on SQLite, whose writers are already serialized) keeps two tills from
    both spending the same balance on PostgreSQL.
    """
    memo = memo_of(ctx.conn)
    known: dict[UUID, _Known] = (memo or {}).get(_LOCKED, {})
    row, at_changes = known.get(ctx.entity_id, (None, -1))
    if row is not None and at_changes == changes_here(ctx.conn, ctx.entity_id):
        return row
    statement = _locked_customer(ctx.till.scope, columns)
    found = ctx.conn.execute(statement, {"locked_id": ctx.entity_id}).one_or_none()
    if found is None:
        raise Rejection("customer not found")
    if not columns:
        _remember(ctx.conn, found)
    return found


_LOCKED = "locked customers"
"""`db.memo_of` key of the customers' whole rows the transaction holds, by customer id."""

_Known = tuple[Row[Any], int]
"""A customer's whole row and the count of the transaction's changes to the customer
(`db.changes_here`) it is as of."""


def _remember(conn: Connection, row: Row[Any]) -> None:
    """Keep a customer's whole row, locked and as it is now, for `visible_customer`."""
    memo = memo_of(conn)
    if memo is not None:
        memo.setdefault(_LOCKED, {})[row.id] = (row, changes_here(conn, row.id))


def _forget(conn: Connection, customer_id: UUID) -> None:
    """Drop the kept row of a customer whose op was undone: it may show the op's changes."""
    memo = memo_of(conn)
    if memo is not None:
        memo.get(_LOCKED, {}).pop(customer_id, None)


def lock_customers(conn: Connection, till: Till, ids: Collection[UUID]) -> None:
    """Lock and read, with one statement, the customers a batch of ops is about (those the
    till may see), for `visible_customer`: one round trip for the batch instead of one per
    op. The locks are taken in id order, so two batches locking some of the same customers
    queue rather than deadlock. Outside `writing()` this does nothing."""
    if memo_of(conn) is None or not ids:
        return
    rows = conn.execute(
        sa.select(customers)
        .where(customers.c.id.in_(sorted(ids)), visible_in(till.scope))
        .order_by(customers.c.id)
        .with_for_update(of=customers)
    )
    for row in rows:
        _remember(conn, row)


@lru_cache(maxsize=1024)
def _locked_customer(scope: TillScope, columns: tuple[ColumnElement[Any], ...]) -> Select[Any]:
    """`visible_customer`'s statement, built once per scope and columns (see `_touch`)."""
    return (
        sa.select(*columns or (customers,))
        .where(customers.c.id == sa.bindparam("locked_id"), visible_in(scope))
        .with_for_update(of=customers)
    )


@lru_cache(maxsize=64)
def _touch(
    bump: bool, stamp_now: bool, returning: tuple[ColumnElement[Any], ...]
) -> ReturningUpdate[Any]:
    """`touch_customer`'s statement, built once per shape: an op's statements run by the
    hundred in one push, and building a statement costs several times more than running it
    (docs/performance.md)."""
    return (
        customers.update()
        .where(customers.c.id == sa.bindparam("touched_id"))
        .values(
            updated_at=sa.bindparam("touched_at", type_=customers.c.updated_at.type),
            **({"version": customers.c.version + 1} if bump else {}),
            **(
                {"change_seq": sa.bindparam("touched_seq", type_=sa.BigInteger)}
                if stamp_now
                else {}
            ),
        )
        .returning(customers.c.version, *returning)
    )


def touch_customer(ctx: OpContext, *, new_version: bool) -> int:
    """Mark the customer changed for pull (and bump its version for profile edits).

    Returns the customer's version after the change.
    """
    return int(touch_customer_returning(ctx, new_version=new_version).version)


def touch_customer_returning(
    ctx: OpContext,
    *,
    new_version: bool,
    returning: tuple[ColumnElement[Any], ...] = (),
    params: dict[str, Any] | None = None,
    ends_op: bool = False,
) -> Row[Any]:
    """`touch_customer`, also returning the `returning` columns (of `customers`, or scalar
    subqueries whose parameters are in `params`) as they are after the change: one
    statement where an op would otherwise read them again.

    An op whose last write this touch is (`ends_op`) gets the customer's whole row back as
    well, and the transaction keeps it for the next op about the same customer
    (`visible_customer`): a till's batch often holds several sales to one customer.
    """
    seq = change_seq(ctx.conn, ctx.entity_id)
    whole = (*_REST_OF_ROW, *returning) if ends_op else returning
    row = ctx.conn.execute(
        _touch(new_version, seq is not None, whole),
        {"touched_id": ctx.entity_id, "touched_seq": seq, "touched_at": ctx.at, **(params or {})},
    ).one()
    if ends_op:
        _remember(ctx.conn, row)
    return row


_REST_OF_ROW = tuple(column for column in customers.c if column.name != "version")
"""The customer's columns a touch returns besides the version, for a whole row."""


_ANSWERED = applied_ops.insert()
"""Built once (see `_touch`)."""

_SAVEPOINT = "SAVEPOINT tillcrm_op"
_RELEASE_SAVEPOINT = "RELEASE SAVEPOINT tillcrm_op"
"""An op's savepoint, always by the same name. SQLAlchemy's `begin_nested` names each new
savepoint anew, so every op's SAVEPOINT and RELEASE were new statements to the driver."""


def _undo_op(ctx: OpContext) -> None:
    """Roll the op's writes back and leave the caller's transaction as it was before it."""
    ctx.conn.exec_driver_sql("ROLLBACK TO SAVEPOINT tillcrm_op")
    ctx.conn.exec_driver_sql(_RELEASE_SAVEPOINT)
    _forget(ctx.conn, ctx.entity_id)


def execute_op(conn: Connection, till: Till, op: Op, *, seq: int | None) -> OpResult:
    """Apply `op` once and record its answer; the caller owns the transaction.

    A business rejection is recorded like a success (so a resend gets the same answer) and
    does not raise. A payload that does not fit the op type's schema is a rejection too. The
    op runs in a savepoint: whatever it raises, its own writes are undone and the caller's
    transaction is left as it was before the op.

    In an all-or-nothing transaction (`db.all_or_nothing`) there is no savepoint, two round
    trips fewer per op: whatever the op raises, a rejection included, fails the whole
    transaction, and the caller applies its ops again each in its own savepoint.
    """
    if all_or_nothing(conn):
        ctx = _context(conn, till, op)
        outcome = _apply(ctx, op)
        return _answer(ctx, op, seq, outcome)
    return _isolated(conn, till, op, seq)


def _apply(ctx: OpContext, op: Op) -> Outcome:
    """The op's applier, once the CRM knows who acts: an active operator of this store."""
    refusal = acting_refusal(ctx.conn, ctx.till, ctx.operator_id)
    if refusal is not None:
        raise Rejection(refusal)
    return APPLIERS[op.type](ctx, op.typed_payload())


def _context(conn: Connection, till: Till, op: Op) -> OpContext:
    """The op's context, applied now."""
    return OpContext(
        conn=conn,
        till=till,
        op_id=op.op_id,
        entity_id=op.entity_id,
        operator_id=op.operator_id,
        base_version=op.base_version,
        override=op.override,
        offline=op.offline,
        at=datetime.now(UTC),
        local_ts=op.local_ts,
    )


def _isolated(conn: Connection, till: Till, op: Op, seq: int | None) -> OpResult:
    """`execute_op` with the op in a savepoint, so a rejection undoes only its own writes."""
    ctx = _context(conn, till, op)
    conn.exec_driver_sql(_SAVEPOINT)
    try:
        outcome = _apply(ctx, op)
    except Conflict as exc:
        _undo_op(ctx)
        return _answer(ctx, op, seq, Outcome({"current": exc.current}), rejected=exc.reason)
    except Rejection as exc:
        _undo_op(ctx)
        return _answer(ctx, op, seq, Outcome(), rejected=exc.reason)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        _undo_op(ctx)
        return _answer(ctx, op, seq, Outcome(), rejected=f"invalid payload: {exc}")
    except BaseException:  # a failure, not an answer: undo the op, let the caller decide
        _undo_op(ctx)
        raise
    conn.exec_driver_sql(_RELEASE_SAVEPOINT)
    return _answer(ctx, op, seq, outcome)


def _answer(
    ctx: OpContext, op: Op, seq: int | None, outcome: Outcome, *, rejected: str | None = None
) -> OpResult:
    """Record the op's answer in `applied_ops` (see `db.insert_later`) and return it:
    `rejected` is the reason it was refused, else `outcome` says how it applied."""
    if rejected is not None:
        status, reason = OpStatus.REJECTED, storable(rejected)
    elif outcome.needs_review:
        status, reason = OpStatus.NEEDS_REVIEW, outcome.needs_review
    else:
        status, reason = OpStatus.APPLIED, ""
    _record(ctx.conn, ctx.till, op, seq, op.type.value, status, reason, outcome.result, ctx.at)
    return OpResult(op_id=op.op_id, seq=op.seq, status=status, reason=reason, result=outcome.result)


def refuse_unreadable(conn: Connection, till: Till, op: UnreadableOp) -> OpResult:
    """Record the rejection of an op this CRM cannot read (nothing of it ran) and return it."""
    reason = storable(op.reason)
    _record(conn, till, op, op.seq, op.type, OpStatus.REJECTED, reason, {}, datetime.now(UTC))
    return OpResult(op_id=op.op_id, seq=op.seq, status=OpStatus.REJECTED, reason=reason)


def _record(
    conn: Connection,
    till: Till,
    op: Op | UnreadableOp,
    seq: int | None,
    type_name: str,
    status: OpStatus,
    reason: str,
    result: dict[str, Any],
    at: datetime,
) -> None:
    """One answer into `applied_ops`, inserted with the transaction's others at its COMMIT."""
    insert_later(
        conn,
        _ANSWERED,
        {
            "op_id": op.op_id,
            "till_id": till.id,
            "seq": seq,
            "type": type_name,
            "payload_hash": payload_hash(op),
            "status": status.value,
            "reason": reason,
            "result": result,
            "applied_at": at,
        },
    )
