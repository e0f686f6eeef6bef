"""A customer's accounts: loyalty, stored value, store credit, wallet, authorized users,
suites and visits.

Every path first finds the customer in the till's scope (404 otherwise). Writes that move
money or change who may act for the customer go through the op registry like pushed ops;
wallet cards are online-only and written here, keeping only what PCI DSS allows.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
import uuid6
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from tillcrm.api import (
    REVEAL_ACTION,
    AuthorizedUserAdd,
    AuthorizedUserNew,
    AuthorizedUserRemove,
    CardReveal,
    FieldProblem,
    LoyaltyOut,
    OpType,
    Page,
    RevealRequest,
    StoreCreditOut,
    StoredValueLoad,
    StoredValueLoadRequest,
    StoredValueOut,
    SuiteOut,
    SuitesOut,
    WalletAdd,
    WalletCardOut,
    WalletUpdate,
)
from tillcrm.domain import (
    AuthorizedUser,
    EventPeriod,
    IdentifierKind,
    LedgerEntry,
    Season,
    Suite,
    SuiteStatus,
    Visit,
    check_approver,
    credit_limit_for,
    last4,
    looks_like_pan,
    mask_tail,
    phone_digits,
    suite_status,
)
from tillcrm.server.context import CurrentTill, Till, engine_of
from tillcrm.server.customer_rows import stored_profile
from tillcrm.server.customer_view import (
    POOL_ACCOUNT,
    as_utc,
    visible_points_accounts,
)
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError, Rejection
from tillcrm.server.openapi import error_responses
from tillcrm.server.operators import till_operator
from tillcrm.server.ops.ledgers import (
    current_event,
    current_season,
    promotion_category,
    stored_value_usage,
)
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.rest_writes import IdempotencyKey, OperatorId, apply_op, make_op
from tillcrm.server.routes.customers import Limit, Offset, page_of
from tillcrm.server.scope import require_visible_customer
from tillcrm.server.tables import (
    audit_log,
    authorized_users,
    points_accounts,
    points_ledger,
    store_credit_ledger,
    stored_value_cards,
    suites,
    visits,
    wallet_cards,
)
from tillcrm.server.verification import spend_approval

router = APIRouter(
    prefix="/customers/{customer_id}",
    route_class=JsonLimitsRoute,
    responses=error_responses(401, 404, 422),
)

LedgerLimit = Annotated[int, Query(ge=1, le=500)]


def _audit(
    conn: Connection,
    till: Till,
    operator_id: str,
    customer_id: UUID,
    *,
    action: str,
    detail: str,
    approver_id: str | None = None,
) -> None:
    """An audit entry for a write made here, naming the org and till it came from."""
    conn.execute(
        audit_log.insert().values(
            at=datetime.now(UTC),
            org_id=till.org.id,
            till_id=till.id,
            operator_id=operator_id,
            approver_id=approver_id,
            action=action,
            customer_id=customer_id,
            detail=detail,
        )
    )


def _period(row: Any) -> dict[str, Any]:
    """An event's or suite's row with its `starts_at` and `ends_at` as aware UTC datetimes
    (SQLite hands them back naive, which the answer's `date-time` does not allow)."""
    return {**row._asdict(), "starts_at": as_utc(row.starts_at), "ends_at": as_utc(row.ends_at)}


def _entry(row: Any, **extra: Any) -> LedgerEntry:
    return LedgerEntry.model_validate({**row._asdict(), "at": as_utc(row.at), **extra})


# -- loyalty ------------------------------------------------------------------------------------


@router.get("/loyalty")
def loyalty(
    till: CurrentTill, request: Request, customer_id: UUID, limit: LedgerLimit = 100
) -> LoyaltyOut:
    """The points accounts the points policy shows this till, and their newest movements."""
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
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


# -- stored value -------------------------------------------------------------------------------


def _stored_value(conn: Connection, till: Till, customer_id: UUID) -> StoredValueOut:
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


@router.get("/stored-value")
def stored_value(till: CurrentTill, request: Request, customer_id: UUID) -> StoredValueOut:
    """Balance inquiry: masked number, balance, limits and what is used of them now."""
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        return _stored_value(conn, till, customer_id)


@router.post("/stored-value/load", response_model=StoredValueOut, responses=error_responses(413))
def load_stored_value(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    body: StoredValueLoadRequest,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> StoredValueOut | JSONResponse:
    """Add money to the card (online only), once per idempotency key."""
    op = make_op(
        OpType.STORED_VALUE_LOAD,
        customer_id,
        StoredValueLoad(amount=body.amount),
        operator_id=operator_id,
        key=key,
    )
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        refused = apply_op(conn, till, op)
        if refused is not None:
            return refused
        return _stored_value(conn, till, customer_id)


def _override_refused(why: str) -> ApiError:
    return ApiError(
        403,
        "override_refused",
        f"override refused: {why}",
        [FieldProblem(field="override.supervisor_id", message=why)],
    )


@router.post("/stored-value/reveal", responses=error_responses(403, 413))
def reveal_card_number(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    body: RevealRequest,
    operator_id: OperatorId,
) -> CardReveal:
    """The full card number, for a supervisor's approval of exactly this; audited."""
    approval = body.override
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
    with writing(engine_of(request)) as conn:
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
        _audit(
            conn,
            till,
            operator_id,
            customer_id,
            action=REVEAL_ACTION,
            detail=approval.reason,
            approver_id=supervisor.id,
        )
    return CardReveal(card_number=number)


# -- store credit -------------------------------------------------------------------------------


@router.get("/store-credit")
def store_credit(
    till: CurrentTill, request: Request, customer_id: UUID, limit: LedgerLimit = 100
) -> StoreCreditOut:
    """The house account: its limit (own, else the promotion category's), debt and room."""
    with reading(engine_of(request)) as conn:
        customer = require_visible_customer(conn, till, customer_id)
        profile = stored_profile(customer.profile)
        category = promotion_category(conn, customer)
        rows = conn.execute(
            sa.select(store_credit_ledger)
            .where(store_credit_ledger.c.customer_id == customer_id)
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


# -- wallet -------------------------------------------------------------------------------------


def card_brand(digits: str) -> str:
    """The card scheme from the number's first digits (what a processor would tell us)."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "discover"
    return "card"


def _wallet_out(row: Any) -> WalletCardOut:
    return WalletCardOut.model_validate(row._asdict())


@router.get("/wallet")
def wallet(till: CurrentTill, request: Request, customer_id: UUID) -> list[WalletCardOut]:
    """The customer's saved cards: brand, last 4, expiry and label only."""
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        rows = conn.execute(
            sa.select(wallet_cards)
            .where(wallet_cards.c.customer_id == customer_id)
            .order_by(wallet_cards.c.created_at)
        ).all()
    return [_wallet_out(row) for row in rows]


@router.post("/wallet", status_code=201, responses=error_responses(413))
def add_wallet_card(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    body: WalletAdd,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> WalletCardOut:
    """Tokenize a card and keep only brand, last 4, expiry, label and the token.

    The token stands in for a payment processor's; the number itself goes no further than
    this function: not stored, not logged, not echoed in errors. The idempotency key becomes
    the card's id, so a retry whose first answer was lost gets the card saved then; a key
    that is another customer's card's id is refused as an id already used, which says
    nothing of whose.
    """
    digits = phone_digits(body.card_number.get_secret_value())
    if not looks_like_pan(digits):
        raise ApiError(
            422,
            "invalid",
            "card_number: not a valid card number",
            [FieldProblem(field="card_number", message="not a valid card number")],
        )
    brand, tail = card_brand(digits), last4(digits)
    now = datetime.now(UTC)
    card_id = key or UUID(str(uuid6.uuid7()))
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        saved = conn.execute(
            sa.select(wallet_cards).where(wallet_cards.c.id == card_id)
        ).one_or_none()
        if saved is not None and saved.customer_id != customer_id:
            raise ApiError(422, "rejected", f"wallet card id {card_id} is already used")
        if saved is not None:
            return _wallet_out(saved)
        conn.execute(
            wallet_cards.insert().values(
                id=card_id,
                customer_id=customer_id,
                brand=brand,
                last4=tail,
                exp_month=body.exp_month,
                exp_year=body.exp_year,
                token=f"tok_{secrets.token_urlsafe(24)}",
                label=body.label,
                created_at=now,
            )
        )
        _audit(
            conn,
            till,
            operator_id,
            customer_id,
            action="wallet_add",
            detail=f"{brand} ending {tail}",
        )
        row = conn.execute(sa.select(wallet_cards).where(wallet_cards.c.id == card_id)).one()
    return _wallet_out(row)


def _wallet_card_where(customer_id: UUID, card_id: UUID) -> sa.ColumnElement[bool]:
    return sa.and_(wallet_cards.c.id == card_id, wallet_cards.c.customer_id == customer_id)


@router.patch("/wallet/{card_id}", responses=error_responses(413))
def update_wallet_card(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    card_id: UUID,
    body: WalletUpdate,
    operator_id: OperatorId,
) -> WalletCardOut:
    """Change a saved card's expiry or label; the token stays."""
    changes = body.model_dump(exclude_none=True)
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        where = _wallet_card_where(customer_id, card_id)
        if changes:
            conn.execute(wallet_cards.update().where(where).values(**changes))
        row = conn.execute(sa.select(wallet_cards).where(where)).one_or_none()
        if row is None:
            raise ApiError.not_found("wallet card")
        _audit(
            conn,
            till,
            operator_id,
            customer_id,
            action="wallet_update",
            detail=f"{row.brand} ending {row.last4}: {', '.join(sorted(changes))}",
        )
    return _wallet_out(row)


@router.delete("/wallet/{card_id}", status_code=204)
def remove_wallet_card(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    card_id: UUID,
    operator_id: OperatorId,
) -> Response:
    """Forget a saved card (its token with it)."""
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        row = conn.execute(
            wallet_cards.delete()
            .where(_wallet_card_where(customer_id, card_id))
            .returning(wallet_cards.c.brand, wallet_cards.c.last4)
        ).one_or_none()
        if row is None:
            raise ApiError.not_found("wallet card")
        _audit(
            conn,
            till,
            operator_id,
            customer_id,
            action="wallet_remove",
            detail=f"{row.brand} ending {row.last4}",
        )
    return Response(status_code=204)


# -- authorized users ---------------------------------------------------------------------------


@router.get("/authorized-users")
def list_authorized_users(
    till: CurrentTill, request: Request, customer_id: UUID
) -> list[AuthorizedUser]:
    """People who may act for the customer, and what each may do."""
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        rows = conn.execute(
            sa.select(authorized_users)
            .where(authorized_users.c.customer_id == customer_id)
            .order_by(authorized_users.c.last_name, authorized_users.c.first_name)
        ).all()
    return [AuthorizedUser.model_validate(row._asdict()) for row in rows]


@router.post(
    "/authorized-users",
    status_code=201,
    response_model=AuthorizedUser,
    responses=error_responses(413),
)
def add_authorized_user(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    body: AuthorizedUserNew,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> AuthorizedUser | JSONResponse:
    """Authorize a person; a retry with the same key adds them once."""
    user = AuthorizedUser.model_validate(
        {**body.model_dump(), "id": body.id or key or UUID(str(uuid6.uuid7()))}
    )
    op = make_op(
        OpType.AUTHORIZED_USER_ADD,
        customer_id,
        AuthorizedUserAdd(user=user),
        operator_id=operator_id,
        key=key,
    )
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        refused = apply_op(conn, till, op)
        if refused is not None:
            return refused
    return user


@router.delete("/authorized-users/{user_id}", status_code=204, response_model=None)
def remove_authorized_user(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    user_id: UUID,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> Response:
    """Withdraw a person's authorization."""
    op = make_op(
        OpType.AUTHORIZED_USER_REMOVE,
        customer_id,
        AuthorizedUserRemove(user_id=user_id),
        operator_id=operator_id,
        key=key,
    )
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        known = conn.execute(
            sa.select(authorized_users.c.id).where(
                authorized_users.c.id == user_id, authorized_users.c.customer_id == customer_id
            )
        ).one_or_none()
        if known is None:
            raise ApiError.not_found("authorized user")
        refused = apply_op(conn, till, op)
        if refused is not None:
            return refused
    return Response(status_code=204)


# -- suites and visits --------------------------------------------------------------------------


@router.get("/suites")
def customer_suites(till: CurrentTill, request: Request, customer_id: UUID) -> SuitesOut:
    """The customer's suites: ongoing, upcoming (soonest first) and closed (latest first)."""
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        rows = conn.execute(
            sa.select(suites)
            .where(suites.c.customer_id == customer_id)
            .order_by(suites.c.starts_at)
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


@router.get("/visits")
def customer_visits(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[Visit]:
    """Where and how the customer was identified, newest first."""
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        rows = conn.execute(
            sa.select(visits)
            .where(visits.c.customer_id == customer_id)
            .order_by(visits.c.at.desc(), visits.c.op_id.desc())
            .offset(offset)
            .limit(limit + 1)
        ).all()
    items = [
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
    return Page[Visit].model_validate(page_of(items, limit, offset))
