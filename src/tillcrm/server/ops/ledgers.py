"""Posting to the points, stored-value and store-credit ledgers, and what the limits read.

Every movement is a ledger row keyed by the op that caused it, and the balance beside the ledger
moves in the same transaction: a resent op is answered from `applied_ops` before it gets here,
and the ledger's primary key would refuse a second row for the same op anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Row

from tillcrm.domain import PromotionCategory
from tillcrm.server.context import Till
from tillcrm.server.customer_view import own_org_ids, points_account_key
from tillcrm.server.db import insert_later, memo_of
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.registry import OpContext, touch_customer_returning
from tillcrm.server.tables import (
    customers,
    events,
    points_accounts,
    points_ledger,
    promotion_categories,
    seasons,
    store_credit_ledger,
    stored_value_cards,
    stored_value_ledger,
)

__all__ = [
    "PointsMove",
    "current_event",
    "current_season",
    "event_of",
    "points_balance",
    "post_store_credit",
    "post_stored_value",
    "promotion_category",
    "stored_value_card",
    "stored_value_usage",
    "touched_balances",
]


_CATEGORY = sa.select(promotion_categories).where(
    promotion_categories.c.id == sa.bindparam("category_id"),
    promotion_categories.c.org_id == sa.bindparam("category_org"),
)
"""Built once, like the other statements a sale runs (see `registry._touch`)."""


def promotion_category(conn: Connection, customer: Row[Any]) -> PromotionCategory | None:
    """The customer's promotion category, if they have one in their organization.

    Read once per write transaction (`db.memo_of`): a push's sales ask for the same few
    categories again and again, and no op changes a category.
    """
    category_id = customer.profile.get("promotion_category_id")  # no need to build the profile
    if category_id is None:
        return None
    memo = memo_of(conn)
    key = (_CATEGORY, category_id, customer.org_id)
    if memo is not None and key in memo:
        known: PromotionCategory | None = memo[key]
        return known
    row = conn.execute(
        _CATEGORY, {"category_id": category_id, "category_org": customer.org_id}
    ).one_or_none()
    category = PromotionCategory.model_validate(row._asdict()) if row is not None else None
    if memo is not None:
        memo[key] = category
    return category


def points_balance(conn: Connection, customer_id: UUID, account: str) -> int:
    """A points account's balance (0 before its first movement)."""
    balance = conn.execute(
        sa.select(points_accounts.c.balance).where(
            points_accounts.c.customer_id == customer_id, points_accounts.c.account == account
        )
    ).scalar_one_or_none()
    return int(balance or 0)


_MOVE_POINTS = (
    points_accounts.update()
    .where(
        points_accounts.c.customer_id == sa.bindparam("moved_customer"),
        points_accounts.c.account == sa.bindparam("moved_account"),
    )
    .values(balance=points_accounts.c.balance + sa.bindparam("moved_by", type_=sa.BigInteger))
    .returning(points_accounts.c.balance)
)
"""Built once, like the other statements a sale runs (see `registry._touch`)."""


_POINTS_LEDGER_INSERT = points_ledger.insert()
"""Built once (see `registry._touch`)."""


@dataclass(frozen=True)
class PointsMove:
    """Points an op moves on the account this till earns into and redeems from."""

    delta: int
    reason: str


def _post_points(ctx: OpContext, account: str, move: PointsMove) -> None:
    """Write `move`'s ledger row on `account` (at the COMMIT of a push, see
    `db.insert_later`)."""
    insert_later(
        ctx.conn,
        _POINTS_LEDGER_INSERT,
        {
            "op_id": ctx.op_id,
            "customer_id": ctx.entity_id,
            "account": account,
            "delta": move.delta,
            "reason": move.reason,
            "till_id": ctx.till.id,
            "at": ctx.at,
        },
    )


def _move_points(ctx: OpContext, account: str, move: PointsMove) -> None:
    """Move `account`'s balance by `move.delta`, opening the account on its first move."""
    moved = ctx.conn.execute(
        _MOVE_POINTS,
        {"moved_customer": ctx.entity_id, "moved_account": account, "moved_by": move.delta},
    ).scalar_one_or_none()
    if moved is None:  # the account's first movement (the customer row is locked: no race)
        ctx.conn.execute(
            points_accounts.insert(),
            {"customer_id": ctx.entity_id, "account": account, "balance": move.delta},
        )


def stored_value_card(conn: Connection, customer_id: UUID) -> Row[Any]:
    """The customer's stored-value card; a rejection when none is assigned."""
    card = conn.execute(
        sa.select(stored_value_cards).where(stored_value_cards.c.customer_id == customer_id)
    ).one_or_none()
    if card is None:
        raise Rejection("the customer has no stored-value card")
    return card


def event_of(ctx: OpContext, event_id: str) -> Row[Any]:
    """The event a till sells for, from its organization or its connected parent."""
    event = ctx.conn.execute(
        sa.select(events).where(events.c.id == event_id, events.c.org_id.in_(own_org_ids(ctx.till)))
    ).one_or_none()
    if event is None:
        raise Rejection(f"unknown event {event_id}")
    return event


def current_event(conn: Connection, till: Till, now: datetime) -> Row[Any] | None:
    """The event of the till's organization (or its connected parent) running at `now`: the
    event a balance inquiry shows limits for."""
    return conn.execute(
        sa.select(events)
        .where(
            events.c.org_id.in_(own_org_ids(till)),
            events.c.starts_at <= now,
            events.c.ends_at >= now,
        )
        .order_by(events.c.starts_at.desc())
        .limit(1)
    ).first()


def current_season(
    conn: Connection, till: Till, event: Row[Any] | None, today: date
) -> Row[Any] | None:
    """The event's season, else the season of the till's organization (or its connected
    parent) that contains `today`: the season a stored-value debit counts in, and the one a
    balance inquiry shows."""
    if event is not None and event.season_id is not None:
        return conn.execute(sa.select(seasons).where(seasons.c.id == event.season_id)).one()
    return conn.execute(
        sa.select(seasons)
        .where(
            seasons.c.org_id.in_(own_org_ids(till)),
            seasons.c.starts_on <= today,
            seasons.c.ends_on >= today,
        )
        .order_by(seasons.c.starts_on.desc())
        .limit(1)
    ).one_or_none()


def stored_value_usage(
    conn: Connection,
    customer_id: UUID,
    *,
    reset_after_event: bool,
    event_id: str | None,
    season_id: str | None,
) -> tuple[int, int]:
    """What the card has spent toward its per-event and per-season limits: (event, season).

    With `reset_after_event` the per-event usage is this event's spending only; without it,
    spending at every event counts. No event, no per-event usage; no season, no season usage.
    """
    spent = sa.func.coalesce(sa.func.sum(-stored_value_ledger.c.delta), 0)
    debits = sa.select(spent).where(
        stored_value_ledger.c.customer_id == customer_id, stored_value_ledger.c.delta < 0
    )
    event_used = 0
    if event_id is not None:
        at_events = (
            stored_value_ledger.c.event_id == event_id
            if reset_after_event
            else stored_value_ledger.c.event_id.is_not(None)
        )
        event_used = int(conn.execute(debits.where(at_events)).scalar_one())
    season_used = 0
    if season_id is not None:
        season_used = int(
            conn.execute(debits.where(stored_value_ledger.c.season_id == season_id)).scalar_one()
        )
    return event_used, season_used


def post_stored_value(
    ctx: OpContext,
    delta: int,
    reason: str,
    *,
    event_id: str | None = None,
    season_id: str | None = None,
) -> int:
    """Move the stored-value card by `delta` for this op; returns the new balance.

    `event_id` and `season_id` say which per-event and per-season usage a debit counts in.
    """
    ctx.conn.execute(
        stored_value_ledger.insert().values(
            op_id=ctx.op_id,
            customer_id=ctx.entity_id,
            delta=delta,
            reason=reason,
            event_id=event_id,
            season_id=season_id,
            till_id=ctx.till.id,
            at=ctx.at,
        )
    )
    balance = ctx.conn.execute(
        stored_value_cards.update()
        .where(stored_value_cards.c.customer_id == ctx.entity_id)
        .values(balance=stored_value_cards.c.balance + delta)
        .returning(stored_value_cards.c.balance)
    ).scalar_one()
    return int(balance)


def post_store_credit(
    ctx: OpContext, delta: int, reason: str, authorized_user_id: UUID | None = None
) -> int:
    """Move the house account by `delta` (positive: a charge); returns what is owed now."""
    ctx.conn.execute(
        store_credit_ledger.insert().values(
            op_id=ctx.op_id,
            customer_id=ctx.entity_id,
            delta=delta,
            reason=reason,
            authorized_user_id=authorized_user_id,
            till_id=ctx.till.id,
            at=ctx.at,
        )
    )
    owed = ctx.conn.execute(
        customers.update()
        .where(customers.c.id == ctx.entity_id)
        .values(store_credit_owed=customers.c.store_credit_owed + delta)
        .returning(customers.c.store_credit_owed)
    ).scalar_one()
    return int(owed)


_STORED_VALUE_BALANCE = (
    sa.select(stored_value_cards.c.balance)
    .where(stored_value_cards.c.customer_id == customers.c.id)
    .scalar_subquery()
    .label("stored_value")
)

_BALANCES = (
    _STORED_VALUE_BALANCE,
    sa.select(points_accounts.c.balance)
    .where(
        points_accounts.c.customer_id == customers.c.id,
        points_accounts.c.account == sa.bindparam("balances_account"),
    )
    .scalar_subquery()
    .label("points"),
)
"""The balances an account op answers with besides the customer's own (store credit), read
as `touch_customer_returning` columns."""

_MOVED = (
    postgresql.insert(points_accounts)
    .values(
        customer_id=sa.bindparam("moved_customer", type_=sa.Uuid),
        account=sa.bindparam("balances_account", type_=points_accounts.c.account.type),
        balance=sa.bindparam("moved_by", type_=sa.BigInteger),
    )
    .on_conflict_do_update(
        index_elements=[points_accounts.c.customer_id, points_accounts.c.account],
        set_={"balance": points_accounts.c.balance + sa.literal_column("excluded.balance")},
    )
    .returning(points_accounts.c.balance)
    .cte("moved_points")
)
_BALANCES_AFTER_MOVE = (
    _STORED_VALUE_BALANCE,
    sa.select(_MOVED.c.balance).scalar_subquery().label("points"),
)
"""`_BALANCES` with the points account moved by the same statement (PostgreSQL): the move is a
data-modifying WITH, whose new balance the rest of the statement reads from its RETURNING (it
sees the snapshot from before the statement)."""


def touched_balances(ctx: OpContext, points: PointsMove | None = None) -> dict[str, Any]:
    """Move the points (`points`, if any) on the account this till earns into and redeems
    from ("" is the pool), mark the customer changed for pull (`touch_customer`) and return an
    account op's result: the customer's version and balances as the till's cache needs them.

    On PostgreSQL the points move, the touch and the read are one statement (a push applies
    hundreds of ops, each statement a round trip and the Python around it); SQLite moves the
    points first, then touches and reads.
    """
    account = points_account_key(ctx.till)
    returning = _BALANCES
    params: dict[str, Any] = {"balances_account": account}
    if points is not None:
        _post_points(ctx, account, points)
        if ctx.conn.dialect.name == "postgresql":
            returning = _BALANCES_AFTER_MOVE
            params.update(moved_customer=ctx.entity_id, moved_by=points.delta)
        else:
            _move_points(ctx, account, points)
    row = touch_customer_returning(
        ctx, new_version=False, returning=returning, params=params, ends_op=True
    )
    return {
        "version": int(row.version),
        "points_account": account,
        "points_balance": int(row.points or 0),
        "stored_value": int(row.stored_value) if row.stored_value is not None else None,
        "store_credit_owed": int(row.store_credit_owed),
    }
