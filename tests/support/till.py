"""A till as the UI drives it: a `TillService` over a real SQLite file, its sync engine, and
the reference CRM on loopback. A `down` client points at a loopback port nobody listens on:
a CRM that is down, for the offline paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from tests.support.crm_server import RunningCrm, free_port
from tests.support.customers import put_customer
from tests.support.world import CASHIER_PIN, World
from tillcrm.api import SaleLineTender, TillContext
from tillcrm.config import OfflineSettings, Settings
from tillcrm.crm import CrmClient
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import TillDatabase, open_database
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.sync import SyncEngine
from tillcrm.till import Saved, TillService


@dataclass
class Till:
    """One till's database, and services on it that reach the CRM or find it down."""

    db: TillDatabase
    context: TillContext
    settings: Settings
    crm_url: str
    token: str
    clients: list[CrmClient] = field(default_factory=list)

    def client(self, *, down: bool = False) -> CrmClient:
        url = f"http://127.0.0.1:{free_port()}" if down else self.crm_url
        client = CrmClient(url, token=self.token, connect_timeout=2, read_timeout=10)
        self.clients.append(client)
        return client

    def service(
        self, *, down: bool = False, clock: Callable[[], float] | None = None
    ) -> TillService:
        extra = {"clock": clock} if clock else {}
        return TillService(self.db, self.context, self.settings, self.client(down=down), **extra)

    async def sync(self) -> None:
        """Push the outbox, then pull the scope, as the till's sync worker does."""
        engine = SyncEngine(self.db, self.client(), self.settings.sync)
        await engine.push_once()
        await engine.pull_once()


OFFLINE_CAPS = OfflineSettings(
    per_transaction_cap=5_000,
    per_till_cap=8_000,
    per_transaction_points_cap=50,
    per_till_points_cap=80,
)
"""Points and money capped apart: 50 and 80 points, 50.00 and 80.00 of money."""


async def enroll_till(tmp_path: Path, crm: RunningCrm, store_id: str) -> Till:
    """A till newly enrolled at `store_id` (its own outbox seq on the CRM), its scope and
    operators pulled, its database under `tmp_path`."""
    with writing(crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, store_id)
    settings = Settings(data_dir=tmp_path, offline=OFFLINE_CAPS)
    async with CrmClient(crm.url) as client:
        enrolled = await client.enroll(code, "test till")
    db = open_database(tmp_path / "till.sqlite3")
    till = Till(db, enrolled.context, settings, crm.url, enrolled.token)
    await till.sync()
    assert await till.service().refresh_operators()
    return till


async def close_till(till: Till) -> None:
    """Close the till's CRM clients and its database."""
    for client in till.clients:
        await client.aclose()
    till.db.close()


async def customer_with_points(till: Till, world: World, **fields: Any) -> UUID:
    """A customer (`fields` of their profile) who earned 100 points with a cash sale, synced
    into the till's cache."""
    customer_id = put_customer(world, "brand", **fields)
    online = till.service()
    await online.login("brand-100", CASHIER_PIN)
    earned = await online.sale(
        customer_id,
        [TransactionLine(description="Season pass", unit_price=10_000)],
        [SaleLineTender(kind=TenderKind.CASH, amount=10_000)],
    )
    assert isinstance(earned, Saved)
    await till.sync()
    return customer_id
