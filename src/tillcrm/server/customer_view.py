"""A customer as a till sees it: the `CustomerOut` of every path that returns customers.

Identify, get, search-to-profile, the write paths and pull all answer with the same shape, so
it is built in one place, `customers_json`: one statement for a whole page of customers, in
which the database joins each customer's registration, subscription and stored-value card and
hands over their cards, authorized users and points as JSON text it aggregated itself. Python
then only formats a few scalars per customer and copies the rest into the answer: a till's
first pull reads its whole scope, and anything done per customer in Python is what it costs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.api import CustomerOut, PointsBalance
from tillcrm.domain import AuthorizedUser, CustomerScope, effective_scope, points_account_brand
from tillcrm.domain.org_fields import subscription_scope_id
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
    "CustomerJson",
    "as_utc",
    "customer_out",
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


def _shows_brand_wallets(till: Till) -> bool:
    """The till shows every brand's wallet of the customer's one account (brand wallets)."""
    own = points_account_key(till)
    return effective_scope(till.org) is CustomerScope.ORGANIZATION and own != POOL_ACCOUNT


def _visible_points(till: Till, accounts: dict[str, int]) -> list[dict[str, Any]]:
    """`visible_points_accounts` in JSON form."""
    own = points_account_key(till)
    shown: list[dict[str, Any]] = [{"brand_id": own or None, "balance": accounts.get(own, 0)}]
    if _shows_brand_wallets(till):
        shown.extend(
            {"brand_id": account, "balance": balance}
            for account, balance in sorted(accounts.items())
            if account not in (own, POOL_ACCOUNT)
        )
    return shown


def visible_points_accounts(till: Till, accounts: dict[str, int]) -> list[PointsBalance]:
    """The points balances the till may show, from a customer's `{account: balance}`.

    Brand scope and the shared pool: the one account the till's sales use (0 before the first
    sale). Brand wallets: every brand's wallet of the one account, the till's own first, since
    the customer sees all their balances wherever they are.
    """
    return [PointsBalance.model_validate(shown) for shown in _visible_points(till, accounts)]


def own_org_ids(till: Till) -> list[str]:
    """The till's organization and, for a connected child, the parent it inherits from.

    Cards are per organization, so a child shows its own and the parent's (the identity's);
    events, seasons and supervisors of the parent apply at its children too.
    """
    return [till.org.id] + ([till.parent.id] if till.parent else [])


_REGISTRATION = customer_registrations.alias("seen_registration")
"""The customer's registration at the till's organization, joined to a page under its own
name: the scope's own test for a registration (`scope.visible_in`) must not correlate to it."""


# -- JSON the database builds ---------------------------------------------------------------------


def _label(name: str) -> ColumnElement[str]:
    """A JSON key written into the SQL (a fixed name from this module, never input): a bound
    parameter would leave PostgreSQL unable to tell `json_build_object` its type."""
    return sa.literal_column(f"'{name}'")


def _json_list(
    postgres: bool,
    fields: dict[str, ColumnElement[Any]],
    where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
) -> ColumnElement[str]:
    """A customer's rows of a related table as JSON text: a list of objects, in order.

    PostgreSQL orders inside the aggregate; SQLite (3.40 has no ORDER BY in an aggregate)
    aggregates an ordered subquery, `json()` keeping each item an object rather than a string.
    """
    pairs = [part for name, column in fields.items() for part in (_label(name), column)]
    if postgres:
        item = sa.func.json_build_object(*pairs)
        listed: ColumnElement[Any] = sa.func.json_agg(aggregate_order_by(item, *order_by))
        return (
            sa.select(sa.func.coalesce(sa.cast(listed, sa.Text), "[]"))
            .where(where)
            .scalar_subquery()
        )
    ordered = (
        sa.select(sa.func.json_object(*pairs).label("item"))
        .where(where)
        .order_by(*order_by)
        .correlate(customers)
    )
    inner = ordered.subquery()
    return sa.select(sa.func.json_group_array(sa.func.json(inner.c.item))).scalar_subquery()


def _iso_utc(postgres: bool, moment: ColumnElement[datetime]) -> ColumnElement[str]:
    """A stored timestamp as ISO 8601 text in UTC, written by the database.

    SQLite keeps a timestamp as UTC text with microseconds (SQLAlchemy's storage format), so
    only the separator and the offset change; PostgreSQL formats it in UTC.
    """
    if postgres:
        in_utc = sa.func.timezone("UTC", moment)
        return sa.func.to_char(in_utc, sa.literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\''))
    stored = sa.type_coerce(moment, sa.String)
    return sa.func.replace(stored, " ", "T", type_=sa.String) + "+00:00"


def _points_json(postgres: bool) -> ColumnElement[str]:
    """A customer's points balances as a JSON object `{account: balance}` (brand wallets)."""
    of_customer = points_accounts.c.customer_id == customers.c.id
    if postgres:
        listed = sa.func.json_object_agg(points_accounts.c.account, points_accounts.c.balance)
        return (
            sa.select(sa.func.coalesce(sa.cast(listed, sa.Text), "{}"))
            .where(of_customer)
            .scalar_subquery()
        )
    listed = sa.func.json_group_object(points_accounts.c.account, points_accounts.c.balance)
    return sa.select(listed).where(of_customer).scalar_subquery()


def _seen_profile(
    postgres: bool, till: Till, subscribed: ColumnElement[Any] | None
) -> ColumnElement[str]:
    """The stored profile as the till's organization sees it, as JSON text.

    A connected child merges its own private fields under the shared ones (the parent's win
    a name clash); a connected organization or unit shows its own marketing-SMS choice.
    Elsewhere the stored text is copied as it is: on PostgreSQL a round trip through JSONB
    (parse, then print) cost about as much as everything else in a pull page.
    """
    text: ColumnElement[Any] = sa.cast(customers.c.profile, sa.Text)
    if till.parent is None and subscribed is None:
        return text
    private = sa.func.coalesce(sa.cast(_REGISTRATION.c.custom_fields, sa.Text), "{}")
    if postgres:
        profile: ColumnElement[Any] = sa.cast(customers.c.profile, JSONB)
        if till.parent is not None:
            shared = sa.func.coalesce(profile["custom_fields"], sa.cast("{}", JSONB))
            merged = sa.cast(private, JSONB).op("||")(shared)
            profile = sa.func.jsonb_set(profile, sa.literal_column("'{custom_fields}'"), merged)
        if subscribed is not None:
            choice = sa.func.to_jsonb(sa.func.coalesce(subscribed, sa.false()))
            profile = sa.func.jsonb_set(
                profile, sa.literal_column("'{flags,marketing_sms}'"), choice
            )
        return sa.cast(profile, sa.Text)
    if till.parent is not None:
        shared_text = sa.func.coalesce(sa.func.json_extract(text, "$.custom_fields"), "{}")
        text = sa.func.json_set(text, "$.custom_fields", sa.func.json_patch(private, shared_text))
    if subscribed is not None:
        choice_text = sa.case((sa.func.coalesce(subscribed, False), "true"), else_="false")
        text = sa.func.json_set(text, "$.flags.marketing_sms", sa.func.json(choice_text))
    return text


# -- a page of customers --------------------------------------------------------------------------


class CustomerJson(NamedTuple):
    """One customer's `CustomerOut` as JSON text, and the change it was read at."""

    change_seq: int
    text: str


def _page_statement(postgres: bool, till: Till, page: sa.Subquery) -> sa.Select[Any]:
    """Every column `customers_json` formats, for the customers of `page` (a subquery of their
    `id`s), in change order.

    The page is chosen first, on its own: computed beside the filter, the related columns
    were worked out for every customer in scope before the sort and limit kept a page of them.

    The customer's registration at the till's organization (label, status, private fields),
    its subscription there and its stored-value card are joined one row each; its cards,
    authorized users and points come as JSON text from correlated subqueries on each table's
    customer index, so the page is one statement however many customers it holds.
    """
    joined = (
        page.join(customers, customers.c.id == page.c.id)
        .outerjoin(
            _REGISTRATION,
            sa.and_(
                _REGISTRATION.c.customer_id == customers.c.id, _REGISTRATION.c.org_id == till.org.id
            ),
        )
        .outerjoin(stored_value_cards, stored_value_cards.c.customer_id == customers.c.id)
    )
    scope_id = subscription_scope_id(till.org, till.brand.id)
    subscribed = None
    if scope_id is not None:
        joined = joined.outerjoin(
            customer_subscriptions,
            sa.and_(
                customer_subscriptions.c.customer_id == customers.c.id,
                customer_subscriptions.c.scope_id == scope_id,
            ),
        )
        subscribed = customer_subscriptions.c.marketing_sms
    cards = _json_list(
        postgres,
        {"kind": identifiers.c.kind, "value": identifiers.c.value, "status": identifiers.c.status},
        sa.and_(
            identifiers.c.customer_id == customers.c.id,
            # `|| ''` keeps the planner off the (org, kind, value) key, whose order matches
            # the ORDER BY: SQLite walked all the organization's cards for every customer.
            (identifiers.c.org_id + "").in_(own_org_ids(till)),
        ),
        [identifiers.c.kind, identifiers.c.value],
    )
    users = _json_list(
        postgres,
        {
            column.name: column
            for column in authorized_users.columns
            if column is not authorized_users.c.customer_id
        },
        authorized_users.c.customer_id == customers.c.id,
        [authorized_users.c.last_name, authorized_users.c.first_name],
    )
    if _shows_brand_wallets(till):
        points = _points_json(postgres)
    else:
        points = sa.func.coalesce(
            sa.select(points_accounts.c.balance)
            .where(
                points_accounts.c.customer_id == customers.c.id,
                points_accounts.c.account == points_account_key(till),
            )
            .scalar_subquery(),
            0,
        )
    return (
        sa.select(
            sa.cast(customers.c.id, sa.String).label("id"),
            customers.c.org_id,
            customers.c.brand_id,
            customers.c.version,
            customers.c.change_seq,
            customers.c.store_credit_owed,
            _iso_utc(postgres, customers.c.created_at).label("created_at"),
            _iso_utc(postgres, customers.c.updated_at).label("updated_at"),
            _seen_profile(postgres, till, subscribed).label("profile"),
            _REGISTRATION.c.label,
            _REGISTRATION.c.status,
            stored_value_cards.c.balance.label("stored_value"),
            cards.label("identifiers"),
            users.label("authorized_users"),
            points.label("points"),
        )
        .select_from(joined)
        .order_by(customers.c.change_seq)
    )


def _authorized_users_json(listed: str) -> str:
    """The aggregated authorized users in their API form (SQLite aggregates booleans as 0/1
    and UUIDs without dashes); most customers have none, so the usual case costs nothing."""
    if listed == "[]":
        return listed
    users = [AuthorizedUser.model_validate(user) for user in json.loads(listed)]
    return json.dumps([user.model_dump(mode="json") for user in users])


def _points_writer(till: Till) -> Callable[[Any], str]:
    """Writes the till's visible points balances as JSON text from a page's `points` column:
    the own account's balance, or every account as a JSON object where brand wallets show."""
    if _shows_brand_wallets(till):

        def wallets(points: Any) -> str:
            accounts = {account: int(balance) for account, balance in json.loads(points).items()}
            return json.dumps(_visible_points(till, accounts))

        return wallets
    own = f'[{{"brand_id":{json.dumps(points_account_key(till) or None)},"balance":'
    return lambda points: f"{own}{int(points)}}}]"


@lru_cache(maxsize=4096)
def _json_string(value: str | None) -> str:
    """A short repeated string (an organization, brand, label or status) as JSON."""
    return json.dumps(value)


def _dashed(customer_id: str) -> str:
    """A customer id in its API form: SQLite keeps UUIDs as 32 hex digits, PostgreSQL's text
    is already dashed."""
    if len(customer_id) != 32:
        return customer_id
    h = customer_id
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _stored_value_json(balance: Any) -> str:
    """The stored-value balance as JSON: null when the customer has no card."""
    return "null" if balance is None else str(int(balance))


def customers_json(
    conn: Connection, till: Till, where: ColumnElement[bool], limit: int
) -> list[CustomerJson]:
    """The first `limit` customers matching `where`, by change, each as `CustomerOut` JSON.

    This is the pull's path: a till's first sync reads the whole scope, so nothing here
    validates what the CRM validated when it stored it, and the profile and cards are copied
    as the database hands them over. `where` must include the till's scope.
    """
    postgres = conn.dialect.name == "postgresql"
    points_json = _points_writer(till)
    page = (
        sa.select(customers.c.id)
        .where(where)
        .order_by(customers.c.change_seq)
        .limit(limit)
        .subquery("page")
    )
    rows = conn.execute(_page_statement(postgres, till, page))
    as_of = datetime.now(UTC).isoformat()
    found = []
    for (
        customer_id,
        org_id,
        brand_id,
        version,
        change_seq,
        owed,
        created_at,
        updated_at,
        profile,
        label,
        status,
        stored_value,
        cards,
        users,
        points,
    ) in rows:
        text = (
            f'{{"profile":{profile},"id":"{_dashed(customer_id)}","version":{version},'
            f'"org_id":{_json_string(org_id)},"brand_id":{_json_string(brand_id)},'
            f'"identifiers":{cards},"authorized_users":{_authorized_users_json(users)},'
            f'"balances":{{"points":{points_json(points)},'
            f'"stored_value":{_stored_value_json(stored_value)},'
            f'"store_credit_owed":{int(owed)},"as_of":"{as_of}"}},'
            f'"label":{_json_string(label or "")},"status":{_json_string(status or "")},'
            f'"created_at":"{created_at}","updated_at":"{updated_at}"}}'
        )
        found.append(CustomerJson(int(change_seq), text))
    return found


def customer_out(conn: Connection, till: Till, row: Row[Any]) -> CustomerOut:
    """`CustomerOut` for one `customers` row (already scope-checked), built as a pull builds it.

    The stored profile is taken as stored (`stored_profile`), not validated again.
    """
    (customer,) = customers_json(conn, till, customers.c.id == row.id, 1)
    fields = json.loads(customer.text)
    fields["profile"] = stored_profile(fields["profile"])
    return CustomerOut.model_validate(fields)
