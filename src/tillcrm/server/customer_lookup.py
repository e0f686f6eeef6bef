"""Finding one customer for a till: by the card, tag or phone number presented (identify),
among a connected parent's own customers (registration at a child), and as the till sees
them after a write.

Every lookup filters with the till's scope, so a customer out of scope is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.api import REGISTERED_AT_PARENT, CustomerOut, FieldProblem
from tillcrm.domain import (
    IdentifierKind,
    IdentifierStatus,
    InvalidPhoneError,
    Organization,
    normalize_phone,
)
from tillcrm.server.context import Till
from tillcrm.server.customer_view import customer_out, own_org_ids
from tillcrm.server.errors import ApiError
from tillcrm.server.scope import require_visible_customer, visible_to
from tillcrm.server.tables import customers, identifiers

__all__ = ["identified", "parent_customer", "seen_by", "still_unknown"]


def _by_phone(conn: Connection, till: Till, value: str) -> Row[Any] | None:
    """The customer whose mobile is this number, else the one holding it as a phone
    identifier, else the one whose landline it is (active and recent ones first where several
    share a number). Each is an index lookup: (org, mobile), the identifier's key, (org, phone).
    """
    try:
        e164 = normalize_phone(value)
    except InvalidPhoneError as exc:
        raise ApiError(
            422, "invalid", str(exc), [FieldProblem(field="value", message=str(exc))]
        ) from exc
    row = _first_with(conn, till, customers.c.mobile == e164)
    if row is None:
        row = _by_card(conn, till, IdentifierKind.PHONE, e164)
    if row is None:
        row = _first_with(conn, till, customers.c.phone == e164)
    return row


def _first_with(conn: Connection, till: Till, match: ColumnElement[bool]) -> Row[Any] | None:
    """The active, most recently changed customer in scope that `match`es."""
    return conn.execute(
        sa.select(customers)
        .where(match, visible_to(till))
        .order_by(customers.c.active.desc(), customers.c.updated_at.desc())
        .limit(1)
    ).first()


def _by_card(conn: Connection, till: Till, kind: IdentifierKind, value: str) -> Row[Any] | None:
    """The customer holding this card or tag; 410 Gone `blocked` for a blocked one in scope.

    410 rather than 404: the card exists and is the till's to know about (it is in scope), it
    is just no longer usable, and the till's client shows "card blocked" for a 410.
    """
    found = conn.execute(
        sa.select(customers, identifiers.c.status.label("card_status"))
        .join(identifiers, identifiers.c.customer_id == customers.c.id)
        .where(
            identifiers.c.org_id.in_(own_org_ids(till)),
            identifiers.c.kind == kind.value,
            identifiers.c.value == value,
            visible_to(till),
        )
    ).first()
    if found is None:
        return None
    if found.card_status == IdentifierStatus.BLOCKED.value:
        raise ApiError(410, "blocked", f"this {kind.value} is blocked")
    return found


def identified(conn: Connection, till: Till, kind: IdentifierKind, value: str) -> Row[Any] | None:
    """The customer in the till's scope this phone number or card identifies."""
    if kind is IdentifierKind.PHONE:
        return _by_phone(conn, till, value)
    return _by_card(conn, till, kind, value)


def _at_parent(till: Till, parent: Organization) -> Till:
    """The till as its connected parent organization sees customers (its own, not a child's)."""
    return replace(till, org=parent, parent=None)


def parent_customer(
    conn: Connection, till: Till, parent: Organization, kind: IdentifierKind, value: str
) -> Row[Any] | None:
    """The connected parent's own customer (not a sibling child's) this card or phone
    identifies, as a child's till registering them sees the parent."""
    return identified(conn, _at_parent(till, parent), kind, value)


def still_unknown(conn: Connection, till: Till, kind: IdentifierKind, value: str) -> ApiError:
    """404 for a card or phone nobody in the till's scope has; at a connected child, a 404 that
    names the parent when the parent's customer presents it but is not yet registered here."""
    parent = till.parent
    if parent is not None and parent_customer(conn, till, parent, kind, value) is not None:
        return ApiError(404, REGISTERED_AT_PARENT, f"registered at {parent.name}, not yet here")
    return ApiError.not_found(kind.value)


def seen_by(till: Till, customer_id: UUID) -> Callable[[Connection], CustomerOut]:
    """The answer of a write to a customer: the customer as the till now sees them."""

    def answer(conn: Connection) -> CustomerOut:
        return customer_out(conn, till, require_visible_customer(conn, till, customer_id))

    return answer
