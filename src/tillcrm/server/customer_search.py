"""Customer search in SQL: by phone (exact or last digits), name, email, company or number,
each served by an index at a million customers.

A phone-like text is a range on the reversed mobile (`mobile_rev`) or the customer number;
other text goes to the trigram index of migration 0002; text too short for trigrams is a
prefix of the customer number. Never a scan of every customer.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.api import CustomerSummary
from tillcrm.domain import phone_digits
from tillcrm.server.context import Till
from tillcrm.server.customer_view import points_account_key
from tillcrm.server.scope import visible_to
from tillcrm.server.tables import customers, customers_search, points_accounts

__all__ = ["search_customers"]

_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]+$")
MIN_SUFFIX_DIGITS = 4
"""Fewer trailing digits than this would match too many customers to be a useful lookup."""
TRIGRAM = 3
"""The shortest text a trigram index finds."""


def _digit_prefix_range(prefix: str) -> ColumnElement[bool]:
    """`mobile_rev` starts with `prefix`, as a range an index serves on any database.

    (`LIKE 'x%'` uses an index only under some collations; a range always does.)
    """
    lower = customers.c.mobile_rev >= prefix
    head = prefix.rstrip("9")
    if not head:
        return lower
    upper = head[:-1] + str(int(head[-1]) + 1)
    return sa.and_(lower, customers.c.mobile_rev < upper)


def _number_prefix(prefix: str) -> ColumnElement[bool]:
    """The customer number starts with `prefix`, upper-cased as the CRM generates numbers, as
    one range the (org, number) index serves: binary order on SQLite, the C collation on
    PostgreSQL. (Two ranges, as typed and upper-cased, made SQLite scan the organization.)"""
    start = prefix.upper()
    number = customers.c.customer_number
    return sa.and_(number >= start, number < start + "\U0010ffff")


def _text_matches(dialect: str, q: str) -> ColumnElement[bool]:
    """`search_text` contains `q`, served by the trigram index of migration 0002.

    On SQLite that is the FTS5 trigram table, queried with `q` as one quoted phrase (a
    substring match, `%` and `_` included literally); on PostgreSQL, `LIKE` on the GIN trigram
    index. A trigram index cannot find fewer than 3 characters, so a shorter text matches the
    start of the customer number instead (a B-tree range), never a scan of every customer.
    """
    text = q.lower()
    if len(text) < TRIGRAM:
        return _number_prefix(q)
    if dialect != "sqlite":
        return customers.c.search_text.contains(text, autoescape=True)
    phrase = '"' + text.replace('"', '""') + '"'
    matching = sa.select(customers_search.c.rowid).where(
        sa.text("customers_search MATCH :phrase").bindparams(phrase=phrase)
    )
    return sa.literal_column("customers.rowid").in_(matching)


def _phone_matches(q: str) -> ColumnElement[bool] | None:
    """For a phone-like text: mobiles ending in its digits, or the customer number itself."""
    digits = phone_digits(q)
    if not _PHONE_LIKE.match(q) or len(digits) < MIN_SUFFIX_DIGITS:
        return None
    return sa.or_(_digit_prefix_range(digits[::-1]), customers.c.customer_number == q)


def search_customers(
    conn: Connection, till: Till, q: str, *, inactive: bool, offset: int, limit: int
) -> list[CustomerSummary]:
    """Customers in the till's scope matching `q` (all of them for ""), by customer number;
    active ones only unless `inactive`. `limit` from `offset`."""
    points = points_accounts.alias("points")
    query = (
        sa.select(
            customers.c.id,
            customers.c.customer_number,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.company,
            customers.c.mobile,
            customers.c.email,
            sa.func.coalesce(points.c.balance, 0).label("points"),
            customers.c.active,
        )
        .outerjoin(
            points,
            sa.and_(
                points.c.customer_id == customers.c.id,
                points.c.account == points_account_key(till),
            ),
        )
        .where(visible_to(till))
        .offset(offset)
        .limit(limit)
    )
    by_phone = _phone_matches(q)
    if by_phone is not None:
        # Sort the few matches rather than walk the number index: each side of the OR then
        # has its own index (a phone suffix is a range on mobile_rev).
        query = query.where(by_phone).order_by(customers.c.customer_number.concat(""))
    elif q:
        query = query.where(_text_matches(conn.dialect.name, q))
        query = query.order_by(customers.c.customer_number)
    else:
        query = query.order_by(customers.c.customer_number)
    if not inactive:
        query = query.where(customers.c.active.is_(True))
    rows = conn.execute(query).all()
    return [CustomerSummary.model_validate(row._asdict()) for row in rows]
