"""The visit applier: every identification at a till is a visit (who, where, how)."""

from __future__ import annotations

from tillcrm.api import OpType, VisitPayload
from tillcrm.server.db import insert_later
from tillcrm.server.ops.registry import OpContext, Outcome, applies, visible_customer
from tillcrm.server.tables import visits

__all__ = ["record_visit"]


_VISIT = visits.insert()
"""Built once, like the other statements an op runs (see `registry._touch`)."""


@applies(OpType.VISIT)
def record_visit(ctx: OpContext, payload: VisitPayload) -> Outcome:
    """Record that the customer was identified at this till, by this operator, this way.

    A visit changes nothing a till caches, so the customer is not marked changed for pull.
    Nothing reads a visit back while a push applies, so in a push its row goes in at the
    COMMIT with the batch's others (`db.insert_later`): a till pushes one with nearly every
    sale.
    """
    row = visible_customer(ctx)
    insert_later(
        ctx.conn,
        _VISIT,
        {
            "op_id": ctx.op_id,
            "customer_id": ctx.entity_id,
            "till_id": ctx.till.id,
            "store_id": ctx.till.store.id,
            "operator_id": ctx.operator_id,
            "method": payload.method.value if payload.method is not None else None,
            "at": ctx.at,
        },
    )
    return Outcome({"version": row.version})
