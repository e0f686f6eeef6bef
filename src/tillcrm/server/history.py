"""A customer's purchase history and one transaction's receipt, as a till may see them.

The history's customer is found in the till's scope by the caller; a receipt is the till's
only when its customer is, and is otherwise not found, like any out-of-scope record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from tillcrm.api import Receipt, TransactionSummary
from tillcrm.domain import Store, Tender, TransactionLine
from tillcrm.server.context import Till
from tillcrm.server.customer_view import as_utc
from tillcrm.server.errors import ApiError
from tillcrm.server.scope import require_visible_customer
from tillcrm.server.tables import operators, stores, tills, transactions

__all__ = ["receipt_of", "transactions_of"]


def _summary(row: Row[Any]) -> TransactionSummary:
    return TransactionSummary.model_validate({**row._asdict(), "at": as_utc(row.at)})


def transactions_of(
    conn: Connection,
    customer_id: UUID,
    *,
    since: datetime | None,
    before: datetime | None,
    offset: int,
    limit: int,
) -> list[TransactionSummary]:
    """The customer's transactions, newest first, from `since` (inclusive) to `before`
    (exclusive); `limit` from `offset`."""
    query = (
        sa.select(
            transactions,
            stores.c.name.label("store_name"),
            tills.c.name.label("till_name"),
        )
        .join(stores, stores.c.id == transactions.c.store_id)
        .join(tills, tills.c.id == transactions.c.till_id)
        .where(transactions.c.customer_id == customer_id)
        .order_by(transactions.c.at.desc(), transactions.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if since is not None:
        query = query.where(transactions.c.at >= as_utc(since))
    if before is not None:
        query = query.where(transactions.c.at < as_utc(before))
    return [_summary(row) for row in conn.execute(query)]


def receipt_of(conn: Connection, till: Till, transaction_id: UUID) -> Receipt:
    """One transaction as printed; 404 unless its customer is in the till's scope."""
    row = conn.execute(
        sa.select(
            transactions,
            stores.c.name.label("store_name"),
            tills.c.name.label("till_name"),
            operators.c.name.label("operator_name"),
        )
        .join(stores, stores.c.id == transactions.c.store_id)
        .join(tills, tills.c.id == transactions.c.till_id)
        .outerjoin(operators, operators.c.id == transactions.c.operator_id)
        .where(transactions.c.id == transaction_id)
    ).one_or_none()
    if row is None:
        raise ApiError.not_found("transaction")
    try:
        customer = require_visible_customer(conn, till, row.customer_id)
    except ApiError:
        raise ApiError.not_found("transaction") from None
    store = conn.execute(sa.select(stores).where(stores.c.id == row.store_id)).one()
    summary = _summary(row)
    return Receipt(
        **summary.model_dump(),
        customer_id=row.customer_id,
        lines=[TransactionLine.model_validate(line) for line in row.lines],
        tenders=[Tender.model_validate(tender) for tender in row.tenders],
        store=Store.model_validate(store._asdict()),
        operator_id=row.operator_id,
        operator_name=row.operator_name,
        go_green=bool(customer.profile.get("flags", {}).get("go_green", False)),
    )
