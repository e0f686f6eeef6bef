"""What the TUI benchmarks share: a till database with cached customers and operators, the
till's context, and a CRM address nobody answers (the CRM is down).

`scan_to_profile.py` and `startup.py` build their tills from these, so both measure the same
till: brand "bench-a" of a standard organization, a cashier 100 / PIN 111111 and a supervisor.
"""

from __future__ import annotations

import socket
from pathlib import Path

from local_search import page_json
from tillcrm.api import PullResponse, TillContext
from tillcrm.domain import Brand, Operator, Organization, Role, Store, hash_pin
from tillcrm.local import CustomerCache, Meta, OperatorStore, PinPolicy, open_database

__all__ = ["CASHIER", "CONTEXT", "PIN", "SIZE", "dead_crm_url", "fill"]

CASHIER = "100"
PIN = "111111"
SIZE = (100, 30)
"""The terminal the benchmarks run the till in (columns, rows)."""
CONTEXT = TillContext(
    till_id="till-bench",
    till_name="Bench till",
    store=Store(id="bench-a-store", brand_id="bench-a", name="Bench store"),
    brand=Brand(id="bench-a", org_id="org-bench", name="Bench brand"),
    organization=Organization(id="org-bench", name="Bench org"),
)


def dead_crm_url() -> str:
    """A loopback port nobody listens on: the CRM is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def fill(db_path: Path, total: int, page: int = 1000) -> None:
    """`total` customers in the cache (stored the way a pull stores them), the cashier and a
    supervisor."""
    db = open_database(db_path)
    for start in range(0, total, page):
        wire = page_json(start, min(start + page, total), total)
        response = PullResponse.model_validate_json(wire)
        with db.write() as conn:
            CustomerCache.store(conn, response.customers)
            Meta.set_cursor(conn, response.cursor)
    OperatorStore(db, PinPolicy()).replace_all(
        [
            Operator(id="bench-100", code=CASHIER, name="Bench Cashier", pin_hash=hash_pin(PIN)),
            Operator(
                id="bench-900",
                code="900",
                name="Bench Supervisor",
                role=Role.SUPERVISOR,
                pin_hash=hash_pin("999999"),
            ),
        ]
    )
    db.close()
