"""Customer scope in SQL: the same rule as `tillcrm.domain.customer_visible`, as a WHERE clause.

Every path that reads customers (identify, search, get, history, pull) filters with
`visible_to(till)`, so a customer out of scope is simply not found: 404, never 403.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.domain import CustomerScope, TillScope
from tillcrm.server.context import Till
from tillcrm.server.errors import ApiError
from tillcrm.server.tables import customer_registrations, customers

__all__ = ["require_visible_customer", "visible_in", "visible_parts", "visible_to"]


def visible_to(till: Till) -> ColumnElement[bool]:
    """Customers this till may see (mirrors `domain.customer_visible`, tested against it)."""
    return visible_in(till.scope)


@lru_cache(maxsize=1024)
def visible_in(scope: TillScope) -> ColumnElement[bool]:
    """`visible_to` for a scope, built once per scope: a push runs it for every op, and
    building the clause cost more than the query it filters."""
    return sa.or_(*visible_parts(scope))


@lru_cache(maxsize=1024)
def visible_parts(scope: TillScope) -> tuple[ColumnElement[bool], ...]:
    """`visible_in` as the disjoint conditions it is the OR of, each within one organization:
    the organization's own customers (of the brand, under brand scope), and for a connected
    child, its parent's customers registered at the child. A query that needs the customers
    in an index's order (pull's pages) asks each part on its own: with the OR, the database
    sorted the whole scope for every page."""
    own_org = customers.c.org_id == scope.org_id
    if scope.scope is CustomerScope.BRAND:
        own_org = sa.and_(own_org, customers.c.brand_id == scope.brand_id)
    if scope.parent_org_id is None:
        return (own_org,)
    registered_here = sa.exists().where(
        customer_registrations.c.customer_id == customers.c.id,
        customer_registrations.c.org_id == scope.org_id,
    )
    return own_org, sa.and_(customers.c.org_id == scope.parent_org_id, registered_here)


def require_visible_customer(
    conn: Connection, till: Till, customer_id: UUID
) -> Row[tuple[object, ...]]:
    """The customer's row, or 404 when it does not exist or the till may not see it."""
    row = conn.execute(
        sa.select(customers).where(customers.c.id == customer_id, visible_to(till))
    ).one_or_none()
    if row is None:
        raise ApiError.not_found("customer")
    return row
