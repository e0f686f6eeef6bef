"""A customer as a till sees it: the `CustomerOut` of every path that returns customers.

Identify, get, search-to-profile, the write paths and pull all answer with the same shape, so
it is built in one place. `customers_json` builds a pull page of many at once, as JSON text, in
a constant number of queries (one per related table) and without validating stored data again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from tillcrm.api import CustomerOut, PointsBalance
from tillcrm.domain import AuthorizedUser, CustomerScope, effective_scope, points_account_brand
from tillcrm.domain.org_fields import merged_field_values, subscription_scope_id
from tillcrm.server.context import Till
from tillcrm.server.customer_rows import stored_profile
from tillcrm.server.tables import (
    authorized_users,
    customer_registrations,
    customer_subscriptions,
    customers,
    identifiers,
    points_accounts,
    stored_value_cards,
)

__all__ = [
    "POOL_ACCOUNT",
    "as_utc",
    "customer_out",
    "customer_page_columns",
    "customers_json",
    "own_org_ids",
    "points_account_key",
    "visible_points_accounts",
]

POOL_ACCOUNT = ""
"""The `points_accounts.account` of an organization's shared pool."""


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def points_account_key(till: Till) -> str:
    """The `points_accounts.account` a sale at this till earns into and redeems from."""
    return points_account_brand(till.org, till.brand.id) or POOL_ACCOUNT


def visible_points_accounts(till: Till, accounts: dict[str, int]) -> list[PointsBalance]:
    """The points balances the till may show, from a customer's `{account: balance}`.

    Brand scope and the shared pool: the one account the till's sales use (0 before the first
    sale). Brand wallets: every brand's wallet of the one account, the till's own first, since
    the customer sees all their balances wherever they are.
    """
    own = points_account_key(till)
    shown = [PointsBalance(brand_id=own or None, balance=accounts.get(own, 0))]
    wallets = effective_scope(till.org) is CustomerScope.ORGANIZATION and own != POOL_ACCOUNT
    if wallets:
        shown.extend(
            PointsBalance(brand_id=account, balance=balance)
            for account, balance in sorted(accounts.items())
            if account not in (own, POOL_ACCOUNT)
        )
    return shown


def own_org_ids(till: Till) -> list[str]:
    """The till's organization and, for a connected child, the parent it inherits from.

    Cards are per organization, so a child shows its own and the parent's (the identity's);
    events, seasons and supervisors of the parent apply at its children too.
    """
    return [till.org.id] + ([till.parent.id] if till.parent else [])


@dataclass(frozen=True)
class _Related:
    """What the tables beside `customers` hold for a set of customers, fetched together."""

    cards: dict[UUID, list[dict[str, str]]]
    users: dict[UUID, list[dict[str, Any]]]
    points: dict[UUID, dict[str, int]]
    stored_value: dict[UUID, int]
    registrations: dict[UUID, Row[Any]]
    subscribed: dict[UUID, bool] | None
    """Marketing-SMS choices kept for the till's organization or unit; None where the
    framework keeps the choice in the profile's flags."""


_IDS: BindParameter[list[UUID]] = sa.bindparam("customer_ids", expanding=True)
_CARDS = (
    sa.select(
        identifiers.c.customer_id, identifiers.c.kind, identifiers.c.value, identifiers.c.status
    )
    .where(
        identifiers.c.customer_id.in_(_IDS),
        identifiers.c.org_id.in_(sa.bindparam("card_orgs", expanding=True)),
    )
    .order_by(identifiers.c.kind, identifiers.c.value)
)
_USERS = (
    sa.select(authorized_users)
    .where(authorized_users.c.customer_id.in_(_IDS))
    .order_by(authorized_users.c.last_name, authorized_users.c.first_name)
)
_POINTS = sa.select(points_accounts).where(points_accounts.c.customer_id.in_(_IDS))
_STORED_VALUE = sa.select(stored_value_cards.c.customer_id, stored_value_cards.c.balance).where(
    stored_value_cards.c.customer_id.in_(_IDS)
)
_REGISTRATIONS = sa.select(customer_registrations).where(
    customer_registrations.c.customer_id.in_(_IDS),
    customer_registrations.c.org_id == sa.bindparam("registered_at_org"),
)
_SUBSCRIPTIONS = sa.select(
    customer_subscriptions.c.customer_id, customer_subscriptions.c.marketing_sms
).where(
    customer_subscriptions.c.customer_id.in_(_IDS),
    customer_subscriptions.c.scope_id == sa.bindparam("subscription_scope"),
)
"""Built once with expanding parameters: building an `IN` of a thousand values each time cost
as much as running it."""


def _related(conn: Connection, till: Till, ids: list[UUID]) -> _Related:
    """Five queries whatever the number of customers, each on its table's customer index."""
    cards: dict[UUID, list[dict[str, str]]] = defaultdict(list)
    for card in conn.execute(_CARDS, {"customer_ids": ids, "card_orgs": own_org_ids(till)}):
        cards[card.customer_id].append(
            {"kind": card.kind, "value": card.value, "status": card.status}
        )
    users: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for user in conn.execute(_USERS, {"customer_ids": ids}):
        users[user.customer_id].append(
            AuthorizedUser.model_validate(user._asdict()).model_dump(mode="json")
        )
    points: dict[UUID, dict[str, int]] = defaultdict(dict)
    for account in conn.execute(_POINTS, {"customer_ids": ids}):
        points[account.customer_id][account.account] = int(account.balance)
    stored_value = {
        card.customer_id: int(card.balance)
        for card in conn.execute(_STORED_VALUE, {"customer_ids": ids})
    }
    registrations = {
        reg.customer_id: reg
        for reg in conn.execute(
            _REGISTRATIONS, {"customer_ids": ids, "registered_at_org": till.org.id}
        )
    }
    scope_id = subscription_scope_id(till.org, till.brand.id)
    subscribed = None
    if scope_id is not None:
        subscribed = {
            row.customer_id: bool(row.marketing_sms)
            for row in conn.execute(
                _SUBSCRIPTIONS, {"customer_ids": ids, "subscription_scope": scope_id}
            )
        }
    return _Related(cards, users, points, stored_value, registrations, subscribed)


def _private_fields(related: _Related, customer_id: UUID) -> dict[str, str]:
    """The till organization's own custom fields for the customer (a connected child's)."""
    registration = related.registrations.get(customer_id)
    return dict(registration.custom_fields) if registration is not None else {}


def _seen_differently(related: _Related, customer_id: UUID) -> bool:
    """The till's organization sees more than the stored profile: private fields, or its own
    marketing-SMS choice."""
    return related.subscribed is not None or bool(_private_fields(related, customer_id))


def _seen_profile(related: _Related, customer_id: UUID, stored: dict[str, Any]) -> dict[str, Any]:
    """A stored profile (JSON form) as the till's organization sees it: its own private fields
    merged under the shared ones (the parent's win a name clash), and its own marketing-SMS
    choice where it keeps one."""
    seen = dict(stored)
    private = _private_fields(related, customer_id)
    seen["custom_fields"] = merged_field_values(stored.get("custom_fields", {}), private)
    if related.subscribed is not None:
        subscribed = related.subscribed.get(customer_id, False)
        seen["flags"] = {**stored.get("flags", {}), "marketing_sms": subscribed}
    return seen


def _fields_but_profile(till: Till, row: Row[Any], related: _Related, as_of: str) -> dict[str, Any]:
    """Every `CustomerOut` field except the profile, in its JSON form."""
    registration = related.registrations.get(row.id)
    points = visible_points_accounts(till, related.points[row.id])
    return {
        "id": str(row.id),
        "version": row.version,
        "org_id": row.org_id,
        "brand_id": row.brand_id,
        "identifiers": related.cards[row.id],
        "authorized_users": related.users[row.id],
        "balances": {
            "points": [{"brand_id": p.brand_id, "balance": p.balance} for p in points],
            "stored_value": related.stored_value.get(row.id),
            "store_credit_owed": int(row.store_credit_owed),
            "as_of": as_of,
        },
        "label": registration.label if registration is not None else "",
        "status": registration.status if registration is not None else "",
        "created_at": as_utc(row.created_at).isoformat(),
        "updated_at": as_utc(row.updated_at).isoformat(),
    }


def customer_page_columns() -> Select[Any]:
    """The `customers` columns `customers_json` reads, the profile as its stored JSON text.

    Reading the profile as text lets a pull page copy it into the answer as it is, instead of
    decoding and encoding every customer's profile again.
    """
    return sa.select(
        customers.c.id,
        customers.c.org_id,
        customers.c.brand_id,
        customers.c.version,
        customers.c.change_seq,
        customers.c.store_credit_owed,
        customers.c.created_at,
        customers.c.updated_at,
        sa.cast(customers.c.profile, sa.Text).label("profile_json"),
    )


def customers_json(conn: Connection, till: Till, rows: Sequence[Row[Any]]) -> list[str]:
    """Each customer's `CustomerOut` as JSON text, for rows of `customer_page_columns`.

    This is the pull's path: a till's first sync reads the whole scope, so nothing here
    validates what the CRM validated when it stored it. The stored profile is copied into the
    answer verbatim unless the till organization's own fields or subscription must be merged in.
    Five queries whatever the number of rows; `customer_out` builds the same fields.
    """
    if not rows:
        return []
    related = _related(conn, till, [row.id for row in rows])
    as_of = datetime.now(UTC).isoformat()
    out = []
    for row in rows:
        profile = row.profile_json
        if _seen_differently(related, row.id):
            profile = json.dumps(_seen_profile(related, row.id, json.loads(profile)))
        rest = json.dumps(_fields_but_profile(till, row, related, as_of))
        out.append(f'{{"profile":{profile},{rest[1:]}')
    return out


def customer_out(conn: Connection, till: Till, row: Row[Any]) -> CustomerOut:
    """`CustomerOut` for one `customers` row (already scope-checked).

    Custom fields merge the till organization's private fields under the shared ones: on a
    name clash the parent's (shared) field wins (`_seen_profile`).
    """
    related = _related(conn, till, [row.id])
    profile = stored_profile(_seen_profile(related, row.id, row.profile))
    fields = _fields_but_profile(till, row, related, datetime.now(UTC).isoformat())
    return CustomerOut.model_validate({**fields, "profile": profile})
