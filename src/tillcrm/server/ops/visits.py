"""The visit applier: every identification at a till is a visit (who, where, how)."""

from __future__ import annotations

from tillcrm.api import OpType, VisitPayload
from tillcrm.server.ops.registry import OpContext, Outcome, applies, visible_customer
from tillcrm.server.tables import visits

__all__ = ["record_visit"]


@applies(OpType.VISIT)
def record_visit(ctx: OpContext, payload: VisitPayload) -> Outcome:
    """Record that the customer was identified at this till, by this operator, this way.

    A visit changes nothing a till caches, so the customer is not marked changed for pull.
    """
    row = visible_customer(ctx)
    ctx.conn.execute(
        visits.insert().values(
            op_id=ctx.op_id,
            customer_id=ctx.entity_id,
            till_id=ctx.till.id,
            store_id=ctx.till.store.id,
            operator_id=ctx.operator_id,
            method=payload.method.value if payload.method is not None else None,
            at=ctx.at,
        )
    )
    return Outcome({"version": row.version})
