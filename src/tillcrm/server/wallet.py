"""The wallet's write path: saved payment cards as processor tokens, online only.

A card number goes no further than `add_card`: not stored, not logged, not echoed in errors
(PCI DSS 3.3, 3.4). Only brand, last 4, expiry, label and the token are kept, and every change
is audited.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tillcrm.api import FieldProblem, WalletAdd, WalletCardOut, WalletUpdate
from tillcrm.domain import last4, looks_like_pan, phone_digits
from tillcrm.domain.cards import card_brand
from tillcrm.server.audit import audit_action
from tillcrm.server.context import Till
from tillcrm.server.db import writing
from tillcrm.server.errors import ApiError
from tillcrm.server.scope import require_visible_customer
from tillcrm.server.tables import wallet_cards

__all__ = ["add_card", "remove_card", "saved_cards", "update_card"]


def _card_out(row: Any) -> WalletCardOut:
    return WalletCardOut.model_validate(row._asdict())


def _card_where(customer_id: UUID, card_id: UUID) -> sa.ColumnElement[bool]:
    return sa.and_(wallet_cards.c.id == card_id, wallet_cards.c.customer_id == customer_id)


def saved_cards(conn: Connection, customer_id: UUID) -> list[WalletCardOut]:
    """The customer's saved cards, oldest first."""
    rows = conn.execute(
        sa.select(wallet_cards)
        .where(wallet_cards.c.customer_id == customer_id)
        .order_by(wallet_cards.c.created_at)
    ).all()
    return [_card_out(row) for row in rows]


def add_card(
    engine: Engine,
    till: Till,
    operator_id: str,
    customer_id: UUID,
    body: WalletAdd,
    card_id: UUID,
) -> WalletCardOut:
    """Tokenize a card under `card_id` and keep only brand, last 4, expiry, label and the
    token (standing in for a payment processor's).

    A `card_id` already saved for this customer answers that card (a retry whose first
    answer was lost); one that is another customer's card's id is refused as an id already
    used, which says nothing of whose.
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
    with writing(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        saved = conn.execute(
            sa.select(wallet_cards).where(wallet_cards.c.id == card_id)
        ).one_or_none()
        if saved is not None and saved.customer_id != customer_id:
            raise ApiError(422, "rejected", f"wallet card id {card_id} is already used")
        if saved is not None:
            return _card_out(saved)
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
                created_at=datetime.now(UTC),
            )
        )
        audit_action(
            conn,
            till,
            operator_id,
            customer_id,
            action="wallet_add",
            detail=f"{brand} ending {tail}",
        )
        row = conn.execute(sa.select(wallet_cards).where(wallet_cards.c.id == card_id)).one()
    return _card_out(row)


def update_card(
    engine: Engine,
    till: Till,
    operator_id: str,
    customer_id: UUID,
    card_id: UUID,
    body: WalletUpdate,
) -> WalletCardOut:
    """Change a saved card's expiry or label; the token stays. 404 for no such card."""
    changes = body.model_dump(exclude_none=True)
    with writing(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        where = _card_where(customer_id, card_id)
        if changes:
            conn.execute(wallet_cards.update().where(where).values(**changes))
        row = conn.execute(sa.select(wallet_cards).where(where)).one_or_none()
        if row is None:
            raise ApiError.not_found("wallet card")
        what = f"{row.brand} ending {row.last4}: {', '.join(sorted(changes))}"
        audit_action(conn, till, operator_id, customer_id, action="wallet_update", detail=what)
    return _card_out(row)


def remove_card(
    engine: Engine, till: Till, operator_id: str, customer_id: UUID, card_id: UUID
) -> None:
    """Forget a saved card, its token with it. 404 for no such card."""
    with writing(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        row = conn.execute(
            wallet_cards.delete()
            .where(_card_where(customer_id, card_id))
            .returning(wallet_cards.c.brand, wallet_cards.c.last4)
        ).one_or_none()
        if row is None:
            raise ApiError.not_found("wallet card")
        what = f"{row.brand} ending {row.last4}"
        audit_action(conn, till, operator_id, customer_id, action="wallet_remove", detail=what)
