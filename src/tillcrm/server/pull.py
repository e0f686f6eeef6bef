"""A page of a till's pull: the customers in its scope changed after a cursor, as JSON.

Pull pages through customers by `change_seq`, a counter the CRM assigns at commit, so the
cursor is the CRM's and never the till's clock. The page is written as JSON text rather than
built as a model: a first full pull reads the whole scope, and validating every stored
customer again cost more than everything else.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tillcrm.server.context import Till
from tillcrm.server.customer_view import customers_in_scope, customers_json
from tillcrm.server.db import reading
from tillcrm.server.pages_ahead import PullPage
from tillcrm.server.tables import till_sync

__all__ = ["ops_applied", "pull_page"]


def pull_page(engine: Engine, till: Till, after: int, limit: int) -> PullPage:
    """The till's customers changed after change `after`, at most `limit`, as the answer's
    JSON; built when asked for, or ahead of the request (`PagesAhead`). A full pull's first
    page (`after` 0) also counts the scope, for the till's progress."""
    with reading(engine) as conn:
        # Read before the customers: a push committed between the two makes the page newer
        # than this seq says, never older, so a page built ahead is at worst built again.
        applied = _last_seq(conn, till)
        total = customers_in_scope(conn, till) if after == 0 else None
        found = customers_json(conn, till, after, limit + 1)
    page = found[:limit]
    next_cursor = page[-1].change_seq if page else after
    more = len(found) > limit
    listed = ",".join(customer.text for customer in page)
    body = (
        f'{{"customers":[{listed}],"cursor":"{next_cursor}","more":{"true" if more else "false"},'
        f'"total":{"null" if total is None else total}}}'
    )
    return PullPage(body, next_cursor, more, applied)


def _last_seq(conn: Connection, till: Till) -> int:
    """The seq of the till's last answered op (0 before its first)."""
    seq = conn.execute(
        sa.select(till_sync.c.last_seq).where(till_sync.c.till_id == till.id)
    ).scalar_one_or_none()
    return int(seq or 0)


def ops_applied(engine: Engine, till: Till) -> int:
    """The seq of the till's last answered op, read on its own (see `PagesAhead`)."""
    with reading(engine) as conn:
        return _last_seq(conn, till)
