"""A customer as a till sees it: the `CustomerOut` of every path that returns customers.

Identify, get, search-to-profile, the write paths and pull all answer with the same shape, so
it is built in one place. `customers_out` builds many at once in a constant number of queries
(one per related table), which keeps a pull page of hundreds of customers cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from tillcrm.api import AccountBalances, CustomerOut, PointsBalance
from tillcrm.domain import (
    AuthorizedUser,
    CustomerProfile,
    CustomerScope,
    Identifier,
    IdentifierKind,
    IdentifierStatus,
    effective_scope,
    points_account_brand,
)
from tillcrm.server.context import Till
from tillcrm.server.tables import (
    authorized_users,
    customer_registrations,
    identifiers,
    points_accounts,
    stored_value_cards,
)

__all__ = [
    "POOL_ACCOUNT",
    "as_utc",
    "customer_out",
    "customers_out",
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


def customers_out(conn: Connection, till: Till, rows: Sequence[Row[Any]]) -> list[CustomerOut]:
    """`CustomerOut` for each `customers` row (already scope-checked), in the same order.

    Five queries whatever the number of rows. Custom fields merge the till organization's
    private fields under the shared ones: on a name clash the parent's (shared) field wins.
    """
    if not rows:
        return []
    ids = [row.id for row in rows]
    cards: dict[UUID, list[Identifier]] = defaultdict(list)
    for card in conn.execute(
        sa.select(
            identifiers.c.customer_id, identifiers.c.kind, identifiers.c.value, identifiers.c.status
        )
        .where(identifiers.c.customer_id.in_(ids), identifiers.c.org_id.in_(own_org_ids(till)))
        .order_by(identifiers.c.kind, identifiers.c.value)
    ):
        cards[card.customer_id].append(
            Identifier(
                kind=IdentifierKind(card.kind),
                value=card.value,
                status=IdentifierStatus(card.status),
            )
        )
    users: dict[UUID, list[AuthorizedUser]] = defaultdict(list)
    for user in conn.execute(
        sa.select(authorized_users)
        .where(authorized_users.c.customer_id.in_(ids))
        .order_by(authorized_users.c.last_name, authorized_users.c.first_name)
    ):
        users[user.customer_id].append(AuthorizedUser.model_validate(user._asdict()))
    points: dict[UUID, dict[str, int]] = defaultdict(dict)
    for account in conn.execute(
        sa.select(points_accounts).where(points_accounts.c.customer_id.in_(ids))
    ):
        points[account.customer_id][account.account] = int(account.balance)
    stored_value = {
        card.customer_id: int(card.balance)
        for card in conn.execute(
            sa.select(stored_value_cards.c.customer_id, stored_value_cards.c.balance).where(
                stored_value_cards.c.customer_id.in_(ids)
            )
        )
    }
    registrations = {
        reg.customer_id: reg
        for reg in conn.execute(
            sa.select(
                customer_registrations.c.customer_id,
                customer_registrations.c.label,
                customer_registrations.c.status,
                customer_registrations.c.custom_fields,
            ).where(
                customer_registrations.c.customer_id.in_(ids),
                customer_registrations.c.org_id == till.org.id,
            )
        )
    }
    as_of = datetime.now(UTC)
    out = []
    for row in rows:
        registration = registrations.get(row.id)
        profile = CustomerProfile.model_validate(row.profile)
        if registration is not None and registration.custom_fields:
            merged = {**registration.custom_fields, **profile.custom_fields}
            profile = profile.model_copy(update={"custom_fields": merged})
        out.append(
            CustomerOut(
                id=row.id,
                version=row.version,
                org_id=row.org_id,
                brand_id=row.brand_id,
                profile=profile,
                identifiers=cards[row.id],
                authorized_users=users[row.id],
                balances=AccountBalances(
                    points=visible_points_accounts(till, points[row.id]),
                    stored_value=stored_value.get(row.id),
                    store_credit_owed=int(row.store_credit_owed),
                    as_of=as_of,
                ),
                label=registration.label if registration is not None else "",
                status=registration.status if registration is not None else "",
                created_at=as_utc(row.created_at),
                updated_at=as_utc(row.updated_at),
            )
        )
    return out


def customer_out(conn: Connection, till: Till, row: Row[Any]) -> CustomerOut:
    """`CustomerOut` for one `customers` row (already scope-checked)."""
    return customers_out(conn, till, [row])[0]
