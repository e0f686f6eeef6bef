"""Limit breaches on the CRM: refused, let through by a supervisor's override, or (an offline
overdraft) applied and flagged for review. The audit log records every override.

The breaches themselves come from `domain.check_limits`, the rule the till applied before the
sale: this module only decides what a breach means for an op that has already happened at the
till.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tillcrm.domain import LimitBreach, LimitKind, check_approver
from tillcrm.server.context import Till
from tillcrm.server.errors import Rejection
from tillcrm.server.operators import till_operator
from tillcrm.server.ops.registry import OpContext
from tillcrm.server.tables import audit_log, override_approvals

__all__ = ["APPROVAL_USED", "audit", "settle_breaches", "spend_approval"]


def audit(ctx: OpContext, action: str, detail: str, *, approver_id: str | None = None) -> None:
    """An audit entry for this op: the originating org and till, who acted, who approved."""
    ctx.conn.execute(
        audit_log.insert().values(
            at=ctx.at,
            org_id=ctx.till.org.id,
            till_id=ctx.till.id,
            operator_id=ctx.operator_id,
            approver_id=approver_id,
            action=action,
            customer_id=ctx.entity_id,
            op_id=ctx.op_id,
            detail=detail,
        )
    )


def _require_override(ctx: OpContext, kind: str, amount: int, breaches: list[LimitBreach]) -> None:
    """Accept the op's override for exactly these breaches, or refuse the op; audit it."""
    problem = "; ".join(breach.describe() for breach in breaches)
    override = ctx.override
    if override is None:
        raise Rejection(f"{problem}: a supervisor override is needed")
    if not override.covers(ctx.entity_id, kind, amount, {breach.kind for breach in breaches}):
        raise Rejection(f"{problem}: the override is for another customer, amount or limit")
    if override.cashier_id != ctx.operator_id:
        raise Rejection("override refused: it was given to another cashier")
    supervisor = till_operator(ctx.conn, ctx.till, override.supervisor_id)
    if supervisor is None:
        raise Rejection(f"override refused: unknown operator {override.supervisor_id}")
    refusal = check_approver(supervisor, ctx.operator_id, override.reason)
    if refusal is not None:
        raise Rejection(f"override refused: {refusal.value}")
    if not spend_approval(ctx.conn, ctx.till, override.approval_id, op_id=ctx.op_id):
        raise Rejection(f"override refused: {APPROVAL_USED}")
    audit(ctx, f"override:{kind}", f"{override.reason} ({problem})", approver_id=supervisor.id)


APPROVAL_USED = "this approval was already used for another action"


def spend_approval(conn: Connection, till: Till, approval_id: UUID, *, op_id: UUID | None) -> bool:
    """Record the approval as used by this action; False when another action used it (a
    replay). The caller's transaction (an op's savepoint) undoes it if the action fails."""
    used_by = conn.execute(
        sa.select(override_approvals.c.op_id).where(override_approvals.c.approval_id == approval_id)
    ).one_or_none()
    if used_by is not None:
        return False
    conn.execute(
        override_approvals.insert().values(
            approval_id=approval_id, op_id=op_id, till_id=till.id, used_at=datetime.now(UTC)
        )
    )
    return True


def settle_breaches(ctx: OpContext, kind: str, amount: int, breaches: list[LimitBreach]) -> str:
    """Decide what the limits a charge breaks mean for the op; raise `Rejection` to refuse it.

    An overdraft taken offline is applied (the till could not know) and returned as the reason
    the op needs review; every other breach needs the op's supervisor override, bound to this
    customer, op `kind` and `amount`. Returns the needs-review reason, or "".
    """
    overdrafts = [b for b in breaches if ctx.offline and b.kind is LimitKind.BALANCE]
    to_approve = [b for b in breaches if b not in overdrafts]
    if to_approve:
        _require_override(ctx, kind, amount, to_approve)
    if overdrafts:
        return "offline overdraft: " + "; ".join(breach.describe() for breach in overdrafts)
    return ""
