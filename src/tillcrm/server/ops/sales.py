"""The sale applier: a completed transaction, the points it earns and the accounts it charges.

The till checked the same limits before it completed the sale (`domain.check_limits`); the CRM
checks them again against its own balances, because another till may have spent the money in
the meantime. The whole sale applies or none of it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from tillcrm.api import ACCOUNT_TENDERS, OpType, SalePayload
from tillcrm.domain import (
    ChargeContext,
    CustomerProfile,
    LimitBreach,
    PromotionCategory,
    TenderKind,
    check_limits,
    credit_limit_for,
    points_earned,
)
from tillcrm.server.customer_rows import stored_profile
from tillcrm.server.customer_view import points_account_key
from tillcrm.server.db import insert_later, next_number
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.ledgers import (
    PointsMove,
    current_event,
    current_season,
    event_of,
    points_balance,
    post_store_credit,
    post_stored_value,
    promotion_category,
    stored_value_card,
    stored_value_usage,
    touched_balances,
)
from tillcrm.server.ops.limits import settle_breaches
from tillcrm.server.ops.registry import (
    OpContext,
    Outcome,
    applies,
    visible_customer,
)
from tillcrm.server.tables import authorized_users, customers, transactions

__all__ = ["TRANSACTION_NUMBER", "record_sale"]

TRANSACTION_NUMBER = "transaction_number"
"""The counter that numbers receipts."""


@dataclass(frozen=True)
class _Charges:
    """What a sale takes from each of the customer's accounts."""

    points: int
    """Points spent."""
    points_amount: int
    """Minor units those points paid."""
    stored_value: int
    store_credit: int

    @classmethod
    def of(cls, payload: SalePayload, point_value: int) -> _Charges:
        """Sum the account tenders; a points tender must say how many points pay its amount."""
        by_kind = dict.fromkeys(ACCOUNT_TENDERS, 0)
        points = 0
        for tender in payload.tenders:
            if tender.kind is TenderKind.POINTS:
                if tender.points is None or tender.points * point_value != tender.amount:
                    raise Rejection(
                        f"a points tender of {tender.amount} must give the points that pay it"
                        f" ({point_value} per point)"
                    )
                points += tender.points
            if tender.kind in by_kind:
                by_kind[tender.kind] += tender.amount
        return cls(
            points=points,
            points_amount=by_kind[TenderKind.POINTS],
            stored_value=by_kind[TenderKind.STORED_VALUE],
            store_credit=by_kind[TenderKind.STORE_CREDIT],
        )


def _check_invoicing(ctx: OpContext, user_id: UUID | None) -> None:
    """Only the customer, or an authorized user allowed to invoice, charges the house account."""
    if user_id is None:
        return
    allowed = ctx.conn.execute(
        sa.select(authorized_users.c.allow_invoicing).where(
            authorized_users.c.id == user_id, authorized_users.c.customer_id == ctx.entity_id
        )
    ).scalar_one_or_none()
    if not allowed:
        raise Rejection(f"authorized user {user_id} may not charge the house account")


@dataclass(frozen=True)
class _StoredValueWhere:
    event_id: str | None
    season_id: str | None


def _stored_value_breaches(
    ctx: OpContext, amount: int, event_id: str | None
) -> tuple[list[LimitBreach], _StoredValueWhere]:
    """The stored-value limits a debit breaks: balance, this event's and this season's usage.

    A sale that names no event counts in the event running now, if any: a till that does not
    know the event (or an older one that never says) must not escape its per-event limit.
    """
    card = stored_value_card(ctx.conn, ctx.entity_id)
    event = (
        event_of(ctx, event_id)
        if event_id is not None
        else current_event(ctx.conn, ctx.till, ctx.at)
    )
    season = current_season(ctx.conn, ctx.till, event, ctx.at.date())
    where = _StoredValueWhere(
        event_id=event.id if event is not None else None,
        season_id=season.id if season is not None else None,
    )
    event_used, season_used = stored_value_usage(
        ctx.conn,
        ctx.entity_id,
        reset_after_event=card.reset_after_event,
        event_id=where.event_id,
        season_id=where.season_id,
    )
    charge = ChargeContext(
        amount=amount,
        balance=card.balance,
        per_event_limit=card.per_event_limit if event is not None else None,
        event_used=event_used,
        per_season_limit=card.per_season_limit if season is not None else None,
        season_used=season_used,
    )
    return check_limits(charge), where


_RECEIPT = transactions.insert()
"""Built once, like the other statements a sale runs (see `registry._touch`)."""


def _insert_transaction(
    ctx: OpContext, payload: SalePayload, total: int, earned: int, redeemed: int
) -> str:
    """The receipt row; returns its number (a push reserves its sales' numbers ahead).

    A transaction id already recorded is refused by the table's key rather than looked up
    first: one statement less for every sale, and the op's savepoint undoes the attempt. In
    an all-or-nothing push the row goes in at the COMMIT (`db.insert_later`), and a refused
    key fails that try of the batch instead.
    """
    number = f"T{next_number(ctx.conn, TRANSACTION_NUMBER):010d}"
    row = {
        "id": payload.transaction_id,
        "number": number,
        "customer_id": ctx.entity_id,
        "org_id": ctx.till.org.id,
        "brand_id": ctx.till.brand.id,
        "store_id": ctx.till.store.id,
        "till_id": ctx.till.id,
        "operator_id": ctx.operator_id,
        "at": ctx.local_ts,
        "currency": ctx.till.org.currency,
        "total": total,
        "lines": [line.model_dump(mode="json") for line in payload.lines],
        "tenders": [tender.model_dump(mode="json") for tender in payload.tenders],
        "points_earned": earned,
        "points_redeemed": redeemed,
        "op_id": ctx.op_id,
    }
    try:
        insert_later(ctx.conn, _RECEIPT, row)
    except IntegrityError as exc:  # the only key a new op can meet is the transaction id
        raise Rejection(f"transaction {payload.transaction_id} is already recorded") from exc
    return number


_BUYER_COLUMNS = (
    customers.c.org_id,
    customers.c.active,
    customers.c.profile,
    customers.c.store_credit_owed,
)
"""What a sale reads of its customer (`_Buyer`, `promotion_category`)."""


@dataclass(frozen=True)
class _Buyer:
    """The customer as the sale's rules read them."""

    row: Row[Any]
    profile: CustomerProfile
    category: PromotionCategory | None


def _breaches(
    ctx: OpContext, buyer: _Buyer, payload: SalePayload, charges: _Charges, account: str
) -> tuple[list[LimitBreach], _StoredValueWhere]:
    """Every limit the sale's account tenders break, and where a stored-value debit counts.

    The customer's activity and transaction limit apply to the account tenders together; the
    balance, credit and stored-value limits to each account.
    """
    where = _StoredValueWhere(event_id=None, season_id=None)
    breaches: list[LimitBreach] = []
    if payload.account_charge:
        breaches += check_limits(
            ChargeContext(
                amount=payload.account_charge,
                customer_active=buyer.row.active,
                transaction_limit=buyer.profile.transaction_limit,
            )
        )
    if charges.points:
        balance = points_balance(ctx.conn, ctx.entity_id, account)
        breaches += check_limits(ChargeContext(amount=charges.points, balance=balance))
    if charges.stored_value:
        found, where = _stored_value_breaches(ctx, charges.stored_value, payload.event_id)
        breaches += found
    if charges.store_credit:
        _check_invoicing(ctx, payload.authorized_user_id)
        limit = credit_limit_for(buyer.profile.store_credit_limit, buyer.category)
        breaches += check_limits(
            ChargeContext(
                amount=charges.store_credit,
                credit_limit=limit,
                credit_owed=buyer.row.store_credit_owed,
            )
        )
    return breaches, where


@applies(OpType.SALE)
def record_sale(ctx: OpContext, payload: SalePayload) -> Outcome:
    """Record the transaction, earn its points, and charge its account tenders.

    Points are earned on what was not paid with points, under the customer's promotion
    category, into the account the organization's points policy names. A breached limit needs
    the op's supervisor override (bound to kind `sale` and the sale's account charge); an
    overdraft taken offline is applied and flagged for review.
    """
    row = visible_customer(ctx, *_BUYER_COLUMNS)
    total = sum(line.total for line in payload.lines)
    paid = sum(tender.amount for tender in payload.tenders)
    if paid != total:
        raise Rejection(f"the tenders add up to {paid}, the lines to {total}")
    charges = _Charges.of(payload, ctx.till.org.point_value)
    account = points_account_key(ctx.till)
    buyer = _Buyer(
        row=row,
        profile=stored_profile(row.profile),
        category=promotion_category(ctx.conn, row),
    )
    breaches, where = _breaches(ctx, buyer, payload, charges, account)
    review = settle_breaches(ctx, OpType.SALE.value, payload.account_charge, breaches)
    earned = points_earned(
        total - charges.points_amount,
        ctx.till.org.currency,
        buyer.category,
        loyalty_enabled=buyer.profile.flags.loyalty_enabled,
    )
    number = _insert_transaction(ctx, payload, total, earned, charges.points)
    if charges.stored_value:
        post_stored_value(
            ctx,
            -charges.stored_value,
            f"sale {number}",
            event_id=where.event_id,
            season_id=where.season_id,
        )
    if charges.store_credit:
        post_store_credit(ctx, charges.store_credit, f"sale {number}", payload.authorized_user_id)
    moved = PointsMove(earned - charges.points, f"sale {number}")
    result = touched_balances(ctx, moved if earned or charges.points else None)
    result.update(
        transaction_id=str(payload.transaction_id),
        number=number,
        points_earned=earned,
        points_redeemed=charges.points,
    )
    return Outcome(result, needs_review=review)
