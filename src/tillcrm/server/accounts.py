"""A customer's accounts as the CRM answers them: loyalty, stored value, store credit,
authorized users, suites and visits; and revealing a stored-value card's number.

The callers (`routes.accounts`) have found the customer in the till's scope first; these
read what is theirs. Writes that move money go through the op registry, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from tillcrm.api import (
    REVEAL_ACTION,
    FieldProblem,
    LoyaltyOut,
    StoreCreditOut,
    StoredValueOut,
    SuiteOut,
    SuitesOut,
)
from tillcrm.domain import (
    AuthorizedUser,
    EventPeriod,
    IdentifierKind,
    LedgerEntry,
    OverrideApproval,
    Season,
    Suite,
    SuiteStatus,
    Visit,
    check_approver,
    credit_limit_for,
    mask_tail,
    suite_status,
)
from tillcrm.server.audit import audit_action
from tillcrm.server.context import Till
from tillcrm.server.customer_rows import stored_profile
from tillcrm.server.customer_view import POOL_ACCOUNT, as_utc, visible_points_accounts
from tillcrm.server.db import writing
from tillcrm.server.errors import ApiError, Rejection
from tillcrm.server.operators import till_operator
from tillcrm.server.ops.ledgers import (
    current_event,
    current_season,
    promotion_category,
    stored_value_usage,
)
from tillcrm.server.scope import require_visible_customer
from tillcrm.server.tables import (
    authorized_users,
    points_accounts,
    points_ledger,
    store_credit_ledger,
    stored_value_cards,
    suites,
    visits,
)
from tillcrm.server.verification import spend_approval

__all__ = [
    "authorized_users_of",
    "loyalty_of",
    "require_authorized_user",
    "reveal_card_number",
    "store_credit_of",
    "stored_value_of",
    "suites_of",
    "visits_of",
]


def _period(row: Any) -> dict[str, Any]:
    """An event's or suite's row with its `starts_at` and `ends_at` as aware UTC datetimes
    (SQLite hands them back naive, which the answer's `date-time` does not allow)."""
    return {**row._asdict(), "starts_at": as_utc(row.starts_at), "ends_at": as_utc(row.ends_at)}


def _entry(row: Any, **extra: Any) -> LedgerEntry:
    return LedgerEntry.model_validate({**row._asdict(), "at": as_utc(row.at), **extra})


def loyalty_of(conn: Connection, till: Till, customer_id: UUID, limit: int) -> LoyaltyOut:
    """The points accounts the points policy shows this till, and their newest movements."""
    balances = dict(
        conn.execute(
            sa.select(points_accounts.c.account, points_accounts.c.balance).where(
                points_accounts.c.customer_id == customer_id
            )
        ).all()
    )
    accounts = visible_points_accounts(till, {k: int(v) for k, v in balances.items()})
    rows = conn.execute(
        sa.select(points_ledger)
        .where(
            points_ledger.c.customer_id == customer_id,
            points_ledger.c.account.in_([a.brand_id or POOL_ACCOUNT for a in accounts]),
        )
        .order_by(points_ledger.c.at.desc(), points_ledger.c.op_id.desc())
        .limit(limit)
    ).all()
    ledger = [_entry(row, brand_id=row.account or None) for row in rows]
    return LoyaltyOut(accounts=accounts, ledger=ledger)


def stored_value_of(conn: Connection, till: Till, customer_id: UUID) -> StoredValueOut:
    """The card with the usage of its limits in the current event and season.

    The current event is the organization's (or its connected parent's) event running now;
    the current season is that event's, else the season that contains today: the same
    periods a sale's limit check counts in.
    """
    card = conn.execute(
        sa.select(stored_value_cards).where(stored_value_cards.c.customer_id == customer_id)
    ).one_or_none()
    if card is None:
        raise ApiError.not_found("stored-value card")
    now = datetime.now(UTC)
    event_row = current_event(conn, till, now)
    season_row = current_season(conn, till, event_row, now.date())
    event = EventPeriod.model_validate(_period(event_row)) if event_row else None
    season = Season.model_validate(season_row._asdict()) if season_row else None
    event_used, season_used = stored_value_usage(
        conn,
        customer_id,
        reset_after_event=card.reset_after_event,
        event_id=event.id if event else None,
        season_id=season.id if season else None,
    )
    return StoredValueOut(
        card_number_masked=mask_tail(card.card_number),
        balance=card.balance,
        currency=card.currency,
        per_event_limit=card.per_event_limit,
        reset_after_event=card.reset_after_event,
        per_season_limit=card.per_season_limit,
        current_event=event,
        event_used=event_used,
        current_season=season,
        season_used=season_used,
        as_of=now,
    )


def _override_refused(why: str) -> ApiError:
    return ApiError(
        403,
        "override_refused",
        f"override refused: {why}",
        [FieldProblem(field="override.supervisor_id", message=why)],
    )


def _check_reveal_approval(approval: OverrideApproval, customer_id: UUID, operator_id: str) -> None:
    """422 unless the approval is for revealing this customer's card, given to this cashier."""
    if approval.action.customer_id != customer_id or approval.action.kind != REVEAL_ACTION:
        raise ApiError(
            422,
            "invalid",
            f"the approval is not for revealing this customer's card ({REVEAL_ACTION})",
            [FieldProblem(field="override.action", message="approves another action")],
        )
    if approval.cashier_id != operator_id:
        raise ApiError(
            422,
            "invalid",
            "the approval was given to another cashier",
            [FieldProblem(field="override.cashier_id", message="is not the acting operator")],
        )


def reveal_card_number(
    engine: Engine, till: Till, operator_id: str, customer_id: UUID, approval: OverrideApproval
) -> str:
    """The full stored-value card number, for a supervisor's approval of exactly this (403
    when the supervisor may not give it); the approval is used up and the reveal audited."""
    _check_reveal_approval(approval, customer_id, operator_id)
    with writing(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        supervisor = till_operator(conn, till, approval.supervisor_id)
        if supervisor is None:
            raise _override_refused("not an operator who may work at this store")
        why = check_approver(supervisor, operator_id, approval.reason)
        if why is not None:
            raise _override_refused(why.value)
        try:
            spend_approval(conn, till, approval, op_id=None, online=True)
        except Rejection as exc:
            raise _override_refused(exc.reason) from exc
        number = conn.execute(
            sa.select(stored_value_cards.c.card_number).where(
                stored_value_cards.c.customer_id == customer_id
            )
        ).scalar_one_or_none()
        if number is None:
            raise ApiError.not_found("stored-value card")
        audit_action(
            conn,
            till,
            operator_id,
            customer_id,
            action=REVEAL_ACTION,
            detail=approval.reason,
            approver_id=supervisor.id,
        )
    return str(number)


def store_credit_of(conn: Connection, till: Till, customer: Row[Any], limit: int) -> StoreCreditOut:
    """The house account: its limit (own, else the promotion category's), debt and room."""
    profile = stored_profile(customer.profile)
    category = promotion_category(conn, customer)
    rows = conn.execute(
        sa.select(store_credit_ledger)
        .where(store_credit_ledger.c.customer_id == customer.id)
        .order_by(store_credit_ledger.c.at.desc(), store_credit_ledger.c.op_id.desc())
        .limit(limit)
    ).all()
    credit_limit = credit_limit_for(profile.store_credit_limit, category)
    owed = int(customer.store_credit_owed)
    return StoreCreditOut(
        limit=credit_limit,
        owed=owed,
        available=max(0, credit_limit - owed),
        currency=till.org.currency,
        ledger=[_entry(row) for row in rows],
    )


def authorized_users_of(conn: Connection, customer_id: UUID) -> list[AuthorizedUser]:
    """People who may act for the customer, by name."""
    rows = conn.execute(
        sa.select(authorized_users)
        .where(authorized_users.c.customer_id == customer_id)
        .order_by(authorized_users.c.last_name, authorized_users.c.first_name)
    ).all()
    return [AuthorizedUser.model_validate(row._asdict()) for row in rows]


def require_authorized_user(conn: Connection, customer_id: UUID, user_id: UUID) -> None:
    """404 unless `user_id` is one of the customer's authorized users."""
    known = conn.execute(
        sa.select(authorized_users.c.id).where(
            authorized_users.c.id == user_id, authorized_users.c.customer_id == customer_id
        )
    ).one_or_none()
    if known is None:
        raise ApiError.not_found("authorized user")


def suites_of(conn: Connection, customer_id: UUID) -> SuitesOut:
    """The customer's suites: ongoing, upcoming (soonest first) and closed (latest first)."""
    rows = conn.execute(
        sa.select(suites).where(suites.c.customer_id == customer_id).order_by(suites.c.starts_at)
    ).all()
    now = datetime.now(UTC)
    grouped: dict[SuiteStatus, list[SuiteOut]] = {status: [] for status in SuiteStatus}
    for row in rows:
        suite = Suite.model_validate(_period(row))
        status = suite_status(suite, now)
        grouped[status].append(SuiteOut(suite=suite, status=status))
    return SuitesOut(
        ongoing=grouped[SuiteStatus.ONGOING],
        upcoming=grouped[SuiteStatus.UPCOMING],
        closed=grouped[SuiteStatus.CLOSED][::-1],
    )


def visits_of(conn: Connection, customer_id: UUID, offset: int, limit: int) -> list[Visit]:
    """Where and how the customer was identified, newest first: `limit` from `offset`."""
    rows = conn.execute(
        sa.select(visits)
        .where(visits.c.customer_id == customer_id)
        .order_by(visits.c.at.desc(), visits.c.op_id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        Visit(
            customer_id=row.customer_id,
            till_id=row.till_id,
            store_id=row.store_id,
            operator_id=row.operator_id,
            method=IdentifierKind(row.method) if row.method else None,
            at=as_utc(row.at),
        )
        for row in rows
    ]
