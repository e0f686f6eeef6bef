"""Checks of a till database's state that no public API reads, and visits and sales queued
in it."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from tillcrm.api import Op, OpType, SaleLineTender, SalePayload, VisitPayload
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import Outbox, TillDatabase


def queue_visits(
    db: TillDatabase,
    customer: UUID,
    count: int = 1,
    *,
    operator: str = "cashier",
    now: datetime | None = None,
) -> list[Op]:
    """`count` visits of `customer`, each saved in its own transaction as the till saves
    them."""
    ops = []
    for _ in range(count):
        with db.write() as conn:
            ops.append(
                Outbox.enqueue(
                    conn,
                    type=OpType.VISIT,
                    entity_id=customer,
                    payload=VisitPayload(),
                    operator_id=operator,
                    now=now,
                )
            )
    return ops


def queue_sale(
    db: TillDatabase, customer: UUID, *, lines: int = 1, description: str = "Lunch"
) -> Op:
    """A cash sale of `lines` lines of 10.00 each by the brand cashier, saved as the till
    saves it."""
    payload = SalePayload(
        transaction_id=uuid4(),
        lines=[TransactionLine(description=description, unit_price=1000)] * lines,
        tenders=[SaleLineTender(kind=TenderKind.CASH, amount=1000 * lines)],
    )
    with db.write() as conn:
        return Outbox.enqueue(
            conn, type=OpType.SALE, entity_id=customer, payload=payload, operator_id="brand-cashier"
        )


def assert_search_index_matches_the_customers(db: TillDatabase) -> None:
    """FTS5's own check of the trigram index against the text it reads from the customers
    (`customer_text_source`): it fails on a customer without a search row, and on a row left
    from an old name."""
    with db.write() as conn:
        conn.execute(
            "INSERT INTO customer_text (customer_text, rank) VALUES ('integrity-check', 1)"
        )


def file_alone_answers(db: TillDatabase, sql: str) -> list[tuple[object, ...]]:
    """`sql`'s rows from a copy of the database file without its WAL: what the file itself
    holds, whatever still waits in the WAL left out."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "file-alone.sqlite3"
        shutil.copyfile(db.path, copy)
        conn = sqlite3.connect(copy)
        try:
            return [tuple(row) for row in conn.execute(sql)]
        finally:
            conn.close()
