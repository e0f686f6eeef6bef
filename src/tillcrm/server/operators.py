"""Who may work at a till: the one rule behind the PIN hashes a till receives, the operators
the CRM accepts ops from, and the supervisors it accepts approvals from.

An operator works for their organization (a connected parent's operators at its children too,
`own_org_ids`) and, when `operator_stores` lists stores for them, only at those stores.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.domain import Operator
from tillcrm.server.context import Till
from tillcrm.server.customer_view import own_org_ids
from tillcrm.server.db import memo_of
from tillcrm.server.tables import operator_stores, operators

__all__ = ["acting_refusal", "till_operator", "till_operators"]


def _works_here(till: Till) -> ColumnElement[bool]:
    """True for an operator of the till's organization (or its connected parent) with no
    store list or with the till's store on it."""
    listed = operator_stores.c.operator_id == operators.c.id
    return sa.and_(
        operators.c.org_id.in_(own_org_ids(till)),
        sa.or_(
            ~sa.exists().where(listed),
            sa.exists().where(listed, operator_stores.c.store_id == till.store.id),
        ),
    )


def till_operators(conn: Connection, till: Till) -> list[Operator]:
    """The active operators who may work at the till's store, by code: the only PIN hashes
    the till receives."""
    rows = conn.execute(
        sa.select(operators)
        .where(_works_here(till), operators.c.active.is_(True))
        .order_by(operators.c.code)
    )
    return [Operator.model_validate(row._asdict()) for row in rows]


def till_operator(conn: Connection, till: Till, operator_id: str) -> Operator | None:
    """The operator `operator_id` if they may work at the till's store (active or not, so a
    caller can say which), else None: unknown, another organization's, another store's."""
    row = conn.execute(
        sa.select(operators).where(operators.c.id == operator_id, _works_here(till))
    ).one_or_none()
    return Operator.model_validate(row._asdict()) if row is not None else None


def acting_refusal(conn: Connection, till: Till, operator_id: str) -> str | None:
    """Why `operator_id` may not act at this till (a pushed op's operator, a REST write's
    `X-Operator-Id`), or None when they may: an active operator who works at its store.

    Unknown, another organization's and another store's operators get the same answer, so
    it tells a till nothing about operators it cannot see. Within one write transaction
    (a push) the answer is kept per operator (`memo_of`).
    """
    memo = memo_of(conn)
    key = ("acting_refusal", till.id, operator_id)
    if memo is not None and key in memo:
        refusal: str | None = memo[key]
        return refusal
    operator = till_operator(conn, till, operator_id)
    refusal = None if operator is not None and operator.active else _NOT_HERE
    if memo is not None:
        memo[key] = refusal
    return refusal


_NOT_HERE = "the acting operator is not an active operator at this store"
