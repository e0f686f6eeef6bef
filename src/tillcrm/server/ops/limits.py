"""Limit breaches on the CRM: refused, let through by a supervisor's override, or (an offline
overdraft) applied and flagged for review. The audit log records every override.

The breaches themselves come from `domain.check_limits`, the rule the till applied before the
sale: this module only decides what a breach means for an op that has already happened at the
till.
"""

from __future__ import annotations

from tillcrm.domain import LimitBreach, LimitKind, check_approver
from tillcrm.server.errors import Rejection
from tillcrm.server.operators import till_operator
from tillcrm.server.ops.registry import OpContext
from tillcrm.server.tables import audit_log
from tillcrm.server.verification import spend_approval

__all__ = ["audit", "settle_breaches"]


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


def _require_override(ctx: OpContext, kind: str, amount: int, breaches: list[LimitBreach]) -> str:
    """Accept the op's override for exactly these breaches, or refuse the op; audit it.
    Returns why the op needs review ("" when the CRM verified the supervisor itself)."""
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
    try:
        review = spend_approval(ctx.conn, ctx.till, override, op_id=ctx.op_id, online=False)
    except Rejection as exc:
        raise Rejection(f"override refused: {exc.reason}") from exc
    audit(ctx, f"override:{kind}", f"{override.reason} ({problem})", approver_id=supervisor.id)
    return f"override by {supervisor.id} {review}: review it" if review else ""


def settle_breaches(ctx: OpContext, kind: str, amount: int, breaches: list[LimitBreach]) -> str:
    """Decide what the limits a charge breaks mean for the op; raise `Rejection` to refuse it.

    An overdraft taken offline is applied (the till could not know) and returned as the reason
    the op needs review; every other breach needs the op's supervisor override, bound to this
    customer, op `kind` and `amount`, which needs review too when the CRM did not verify the
    supervisor itself. Returns the needs-review reason, or "".
    """
    overdrafts = [b for b in breaches if ctx.offline and b.kind is LimitKind.BALANCE]
    to_approve = [b for b in breaches if b not in overdrafts]
    reviews = [_require_override(ctx, kind, amount, to_approve)] if to_approve else []
    if overdrafts:
        reviews.append(
            "offline overdraft: " + "; ".join(breach.describe() for breach in overdrafts)
        )
    return "; ".join(review for review in reviews if review)
