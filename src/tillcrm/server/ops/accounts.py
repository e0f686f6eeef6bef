"""Account appliers outside a sale: redeem points, load stored value, pay the house account."""

from __future__ import annotations

from tillcrm.api import OpType, PointsRedeem, StoreCreditPayment, StoredValueLoad
from tillcrm.domain import ChargeContext, check_limits
from tillcrm.server.customer_view import points_account_key
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.ledgers import (
    PointsMove,
    points_balance,
    post_store_credit,
    post_stored_value,
    stored_value_card,
    touched_balances,
)
from tillcrm.server.ops.limits import settle_breaches
from tillcrm.server.ops.registry import (
    OpContext,
    Outcome,
    applies,
    visible_customer,
)

__all__ = ["load_stored_value", "pay_store_credit", "redeem_points"]


@applies(OpType.POINTS_REDEEM)
def redeem_points(ctx: OpContext, payload: PointsRedeem) -> Outcome:
    """Spend points on a bonus from the account this till's sales use.

    More points than the balance is refused online and applied with a review flag offline.
    """
    row = visible_customer(ctx)
    account = points_account_key(ctx.till)
    charge = ChargeContext(
        amount=payload.points,
        customer_active=row.active,
        balance=points_balance(ctx.conn, ctx.entity_id, account),
    )
    review = settle_breaches(ctx, OpType.POINTS_REDEEM.value, payload.points, check_limits(charge))
    moved = touched_balances(ctx, PointsMove(-payload.points, payload.reason))
    return Outcome(moved, needs_review=review)


@applies(OpType.STORED_VALUE_LOAD)
def load_stored_value(ctx: OpContext, payload: StoredValueLoad) -> Outcome:
    """Add money to the customer's stored-value card. Loads are online only: a load the till
    took offline could never be checked against the payment that funded it."""
    if ctx.offline:
        raise Rejection("stored-value loads are online only")
    visible_customer(ctx)
    stored_value_card(ctx.conn, ctx.entity_id)
    post_stored_value(ctx, payload.amount, "load")
    return Outcome(touched_balances(ctx))


@applies(OpType.STORE_CREDIT_PAYMENT)
def pay_store_credit(ctx: OpContext, payload: StoreCreditPayment) -> Outcome:
    """The customer pays down the house account, at most what they owe."""
    row = visible_customer(ctx)
    if payload.amount > row.store_credit_owed:
        raise Rejection(f"payment {payload.amount} is more than the {row.store_credit_owed} owed")
    post_store_credit(ctx, -payload.amount, "payment")
    return Outcome(touched_balances(ctx))
