"""A customer as a till sees it: the `CustomerOut` of every path that returns customers.

Identify, get, search-to-profile, the write paths and pull all answer with the same shape, so
it is built in one place, `customers_json`: one statement for a whole page of customers, in
which the database joins each customer's registration, subscription and stored-value card,
aggregates their cards, authorized users and points, and writes each customer's whole JSON
text. Python only joins the texts: a till's first pull reads its whole scope, and anything
done per customer in Python is what it costs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.api import CustomerOut, PointsBalance
from tillcrm.domain import CustomerScope, effective_scope, points_account_brand
from tillcrm.domain.org_fields import subscription_scope_id
from tillcrm.server.context import Till
from tillcrm.server.customer_rows import stored_profile
from tillcrm.server.scope import visible_parts, visible_to
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
    "customers_in_scope",
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


def visible_points_accounts(till: Till, accounts: dict[str, int]) -> list[PointsBalance]:
    """The points balances the till may show, from a customer's `{account: balance}`.

    Brand scope and the shared pool: the one account the till's sales use (0 before the first
    sale). Brand wallets: every brand's wallet of the one account, the till's own first, since
    the customer sees all their balances wherever they are. A pull has the database write
    the same list (`_points_text`).
    """
    own = points_account_key(till)
    shown = [PointsBalance(brand_id=own or None, balance=accounts.get(own, 0))]
    if _shows_brand_wallets(till):
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


_REGISTRATION = customer_registrations.alias("seen_registration")
"""The customer's registration at the till's organization, joined to a page under its own
name: the scope's own test for a registration (`scope.visible_in`) must not correlate to it."""


# -- JSON the database builds ---------------------------------------------------------------------


def _label(name: str) -> ColumnElement[str]:
    """A JSON key written into the SQL (a fixed name from this module, never input): a bound
    parameter would leave PostgreSQL unable to tell `json_build_object` its type."""
    return sa.literal_column(f"'{name}'")


def _json_items(
    postgres: bool,
    fields: dict[str, ColumnElement[Any]],
    where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
) -> ColumnElement[str]:
    """A customer's rows of a related table as JSON objects in order, comma-separated: the
    inside of a JSON list, NULL when there are none.

    PostgreSQL orders inside the aggregate; SQLite (3.40 has no ORDER BY in an aggregate)
    concatenates an ordered subquery. Each object stays text: nothing parses it again.
    """
    pairs = [part for name, column in fields.items() for part in (_label(name), column)]
    if postgres:
        item = sa.cast(sa.func.json_build_object(*pairs), sa.Text)
        comma: ColumnElement[str] = sa.literal_column("','")
        joined = sa.func.string_agg(item, aggregate_order_by(comma, *order_by))
        return sa.select(joined).where(where).scalar_subquery()
    ordered = (
        sa.select(sa.func.json_object(*pairs).label("item"))
        .where(where)
        .order_by(*order_by)
        .correlate(customers)
    )
    inner = ordered.subquery()
    return sa.select(sa.func.group_concat(inner.c.item, ",")).scalar_subquery()


def _json_list(
    postgres: bool,
    fields: dict[str, ColumnElement[Any]],
    where: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
) -> ColumnElement[str]:
    """A customer's rows of a related table as JSON text: a list of objects, in order."""
    items = _json_items(postgres, fields, where, order_by)
    return "[" + sa.func.coalesce(items, "") + "]"


def _json_object(postgres: bool, fields: dict[str, ColumnElement[str]]) -> ColumnElement[str]:
    """A JSON object written by the database from its fields' JSON text, in this order.

    One `format` (SQLite's `printf`) call writes it: chained `||` copied the growing text
    once per field.
    """
    template = "{" + ",".join(f"{json.dumps(name)}:%s" for name in fields) + "}"
    write = sa.func.format if postgres else sa.func.printf
    return write(sa.literal(template, sa.Text), *fields.values(), type_=sa.Text)


def _json_string(postgres: bool, value: ColumnElement[Any]) -> ColumnElement[str]:
    """A text column as a JSON string, escaped by the database; NULL as null."""
    if postgres:
        return sa.func.coalesce(sa.cast(sa.func.to_json(value), sa.Text), "null")
    return sa.func.json_quote(value)


def _quoted(text: ColumnElement[str]) -> ColumnElement[str]:
    """Text that never needs escaping (hex digits, dashes, an ISO timestamp) as a JSON string."""
    return '"' + text + '"'


def _number(value: ColumnElement[Any]) -> ColumnElement[str]:
    """An integer column as JSON text; NULL as null."""
    return sa.func.coalesce(sa.cast(value, sa.Text), "null")


def _json_bool(postgres: bool, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A boolean column as a JSON object's value: SQLite keeps booleans as 0 and 1."""
    if postgres:
        return value
    return sa.func.json(sa.case((value, "true"), else_="false"))


def _uuid_text(postgres: bool, value: ColumnElement[Any]) -> ColumnElement[str]:
    """A UUID column as its dashed text: SQLite keeps UUIDs as 32 hex digits."""
    if postgres:
        return sa.cast(value, sa.Text)
    h = sa.type_coerce(value, sa.String)
    parts = [sa.func.substr(h, start, length) for start, length in _UUID_PARTS]
    dashed: ColumnElement[str] = parts[0]
    for part in parts[1:]:
        dashed = dashed + "-" + part
    return dashed


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
"""Where the dashed groups of a UUID's 32 hex digits start (from 1) and how long they are."""


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


def _points_text(postgres: bool, till: Till) -> ColumnElement[str]:
    """`visible_points_accounts` as JSON text written by the database: the own account's
    balance (0 before the first sale) and, where brand wallets show, every other brand's
    wallet by brand id (in code point order on PostgreSQL too, as Python sorts them)."""
    own = points_account_key(till)
    of_customer = points_accounts.c.customer_id == customers.c.id
    balance = (
        sa.select(sa.cast(points_accounts.c.balance, sa.Text))
        .where(of_customer, points_accounts.c.account == own)
        .scalar_subquery()
    )
    first = f'[{{"brand_id":{json.dumps(own or None)},"balance":'
    listed = sa.literal(first, sa.Text) + sa.func.coalesce(balance, "0") + "}"
    if _shows_brand_wallets(till):
        account: ColumnElement[str] = points_accounts.c.account
        others = _json_items(
            postgres,
            {"brand_id": account, "balance": points_accounts.c.balance},
            sa.and_(of_customer, account.not_in([own, POOL_ACCOUNT])),
            [sa.collate(account, "C") if postgres else account],
        )
        listed = listed + sa.func.coalesce("," + others, "")
    return listed + "]"


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
    """Each customer of `page` (a subquery of their `id`s) as its `CustomerOut` JSON text,
    written by the database, with its `change_seq`, in change order; the `as_of` parameter
    is when the balances were read, as JSON text.

    The page is chosen first, on its own: computed beside the filter, the related columns
    were worked out for every customer in scope before the sort and limit kept a page of them.

    The customer's registration at the till's organization (label, status, private fields),
    its subscription there and its stored-value card are joined one row each; its cards,
    authorized users and points come as JSON text from correlated subqueries on each table's
    customer index, so the page is one statement however many customers it holds. Python
    only joins the texts: anything done per customer in Python is what a first pull costs.
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
    user = authorized_users.c
    users = _json_list(
        postgres,
        {
            "id": _uuid_text(postgres, user.id),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": user.phone,
            "allow_invoicing": _json_bool(postgres, user.allow_invoicing),
            "allow_preorders": _json_bool(postgres, user.allow_preorders),
        },
        user.customer_id == customers.c.id,
        [user.last_name, user.first_name],
    )
    balances = _json_object(
        postgres,
        {
            "points": _points_text(postgres, till),
            "stored_value": _number(stored_value_cards.c.balance),
            "store_credit_owed": _number(customers.c.store_credit_owed),
            "as_of": _AS_OF,
        },
    )
    customer = _json_object(
        postgres,
        {
            "profile": _seen_profile(postgres, till, subscribed),
            "id": _quoted(_uuid_text(postgres, customers.c.id)),
            "version": _number(customers.c.version),
            "org_id": _json_string(postgres, customers.c.org_id),
            "brand_id": _json_string(postgres, customers.c.brand_id),
            "identifiers": cards,
            "authorized_users": users,
            "balances": balances,
            "label": _json_string(postgres, sa.func.coalesce(_REGISTRATION.c.label, "")),
            "status": _json_string(postgres, sa.func.coalesce(_REGISTRATION.c.status, "")),
            "created_at": _quoted(_iso_utc(postgres, customers.c.created_at)),
            "updated_at": _quoted(_iso_utc(postgres, customers.c.updated_at)),
        },
    )
    return (
        sa.select(customers.c.change_seq, customer)
        .select_from(joined)
        .order_by(customers.c.change_seq)
    )


_NO_JIT = sa.text("SET LOCAL jit = off")
"""PostgreSQL compiles a statement it expects to cost much (`jit_above_cost`) to machine code
first. A page never repays it: a large load not yet analyzed makes each page's estimate that
high, and compiling then takes most of the page's time (docs/performance.md)."""

_AS_OF = sa.bindparam("as_of", type_=sa.Text)
_AFTER = sa.bindparam("after", type_=sa.BigInteger)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_CUSTOMER_ID = sa.bindparam("customer_id", type_=sa.Uuid)


@lru_cache(maxsize=256)
def _pull_statement(postgres: bool, till: Till) -> sa.Select[Any]:
    """The pull's page for this till: its customers in scope changed after `after`, the
    first `limit` of them. Each part of the scope (`visible_parts`) takes its first `limit`
    from its organization's change index and the page keeps the first `limit` of those: a
    connected child's scope as one OR had the whole scope sorted for every page. Built once
    per till: building and hashing a statement this size cost a few microseconds per
    customer of a page."""
    parts = [
        sa.select(customers.c.id, customers.c.change_seq)
        .where(part, customers.c.change_seq > _AFTER)
        .order_by(customers.c.change_seq)
        .limit(_LIMIT)
        .subquery()
        for part in visible_parts(till.scope)
    ]
    if len(parts) == 1:
        return _page_statement(postgres, till, parts[0])
    merged = sa.union_all(*(sa.select(part.c.id, part.c.change_seq) for part in parts)).subquery()
    page = merged.select().order_by(merged.c.change_seq).limit(_LIMIT).subquery("page")
    return _page_statement(postgres, till, page)


@lru_cache(maxsize=256)
def _one_statement(postgres: bool, till: Till) -> sa.Select[Any]:
    """One customer, `customer_id`, as this till sees them."""
    page = sa.select(customers.c.id).where(customers.c.id == _CUSTOMER_ID).subquery("page")
    return _page_statement(postgres, till, page)


def _read(conn: Connection, statement: sa.Select[Any], **params: Any) -> list[CustomerJson]:
    """The customers `statement` writes, their balances read now."""
    as_of = json.dumps(datetime.now(UTC).isoformat())
    rows = conn.execute(statement, {**params, "as_of": as_of}).all()
    return [CustomerJson(int(change_seq), text) for change_seq, text in rows]


def customers_json(conn: Connection, till: Till, after: int, limit: int) -> list[CustomerJson]:
    """The first `limit` customers in the till's scope changed after `after`, by change,
    each as `CustomerOut` JSON.

    This is the pull's path: a till's first sync reads the whole scope, so nothing here
    validates what the CRM validated when it stored it, and the profile and cards are copied
    as the database hands them over.
    """
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(_NO_JIT)
    return _read(conn, _pull_statement(postgres, till), after=after, limit=limit)


def customers_in_scope(conn: Connection, till: Till) -> int:
    """How many customers the till sees: what its first full pull will bring."""
    count = sa.select(sa.func.count()).select_from(customers).where(visible_to(till))
    return int(conn.execute(count).scalar_one())


def customer_out(conn: Connection, till: Till, row: Row[Any]) -> CustomerOut:
    """`CustomerOut` for one `customers` row (already scope-checked), built as a pull builds it.

    The stored profile is taken as stored (`stored_profile`), not validated again.
    """
    postgres = conn.dialect.name == "postgresql"
    (customer,) = _read(conn, _one_statement(postgres, till), customer_id=row.id)
    fields = json.loads(customer.text)
    fields["profile"] = stored_profile(fields["profile"])
    return CustomerOut.model_validate(fields)
