"""A till whose clock is days off still syncs: pull asks from the CRM's own cursor (never the
till's time), push is ordered by seq (never by `local_ts`), and the backoff wait kept in the
outbox must not strand the queue when the clock is put right.

The till's clock is skewed where the till reads it (the sync engine, the outbox, the cache);
the CRM on loopback keeps the true time.
"""

from __future__ import annotations

import asyncio
import random
import time
import types
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.tcp_proxy import Fault, tcp_proxy
from tests.support.world import World
from tillcrm.api import OpType, SaleLineTender, SalePayload
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import CustomerCache, Meta, OpState, Outbox, TillDatabase, open_database
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.tables import applied_ops
from tillcrm.sync import CircuitBreaker, SyncEngine

DAYS = timedelta(days=3)

SKEWED_MODULES = [
    "tillcrm.sync._engine",
    "tillcrm.sync._pull",
    "tillcrm.local.outbox",
    "tillcrm.local.cache",
]


class TillClock:
    """The till's wall clock, `offset` away from the truth; `set` moves it (an NTP fix)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        clock = self

        class SkewedDatetime(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> SkewedDatetime:
                real = datetime.now(tz)
                return cls.fromtimestamp(real.timestamp() + clock.offset.total_seconds(), tz)

        skewed_time = types.SimpleNamespace(
            **{name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
        )
        skewed_time.time = lambda: time.time() + clock.offset.total_seconds()
        for module in SKEWED_MODULES:
            monkeypatch.setattr(f"{module}.datetime", SkewedDatetime, raising=False)
        monkeypatch.setattr("tillcrm.sync._engine.time", skewed_time)

    def set(self, offset: timedelta) -> None:
        self.offset = offset


class NoJitter(random.Random):
    """Backoff without the random wait: a failed batch is due again at once."""

    def uniform(self, a: float, b: float) -> float:
        return a


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    yield database
    database.close()


@pytest.fixture
def token(loopback_world: World) -> str:
    """A till newly enrolled at brand a's store: its own seq on the CRM."""
    with writing(loopback_world.crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, "brand-a-store")
    with loopback_world.crm.client() as http:
        response = http.post("/tills/enroll", json={"code": code, "name": f"till {code}"})
        response.raise_for_status()
        return str(response.json()["token"])


@pytest.fixture
async def client(loopback_world: World, token: str) -> AsyncIterator[CrmClient]:
    async with CrmClient(loopback_world.crm.url, token=token) as crm_client:
        yield crm_client


def sale(db: TillDatabase, customer: UUID) -> None:
    """A cash sale of 10.00, stamped with the till's (skewed) clock as the till stamps it."""
    payload = SalePayload(
        transaction_id=uuid4(),
        lines=[TransactionLine(description="Tea", unit_price=1000)],
        tenders=[SaleLineTender(kind=TenderKind.CASH, amount=1000)],
    )
    with db.write() as conn:
        Outbox.enqueue(
            conn, type=OpType.SALE, entity_id=customer, payload=payload, operator_id="brand-cashier"
        )


def crm_seqs(world: World, db: TillDatabase) -> list[int]:
    """The seqs the CRM applied of this till's ops."""
    op_ids = [UUID(row[0]) for row in db.read("SELECT op_id FROM outbox")]
    with world.crm.engine.connect() as conn:
        return sorted(
            conn.execute(
                sa.select(applied_ops.c.seq).where(applied_ops.c.op_id.in_(op_ids))
            ).scalars()
        )


@pytest.mark.parametrize("offset", [DAYS, -DAYS], ids=["ahead", "behind"])
async def test_pull_and_push_work_with_the_till_clock_days_off(
    db: TillDatabase,
    client: CrmClient,
    loopback_world: World,
    monkeypatch: pytest.MonkeyPatch,
    offset: timedelta,
) -> None:
    TillClock(monkeypatch).set(offset)
    cache = CustomerCache(db)
    engine = SyncEngine(db, client, SyncSettings(pull_page_size=3))
    first = put_customer(loopback_world, "brand", "a", first_name="Skew")

    assert await engine.pull_once() == cache.count() > 0
    assert cache.get(first) is not None
    cursor = Meta(db).cursor()
    assert cursor is not None

    later = put_customer(loopback_world, "brand", "a", first_name="Later")
    assert await engine.pull_once() == 1  # exactly the change since the CRM's cursor
    assert cache.get(later) is not None
    assert await engine.pull_once() == 0

    for _ in range(3):
        sale(db, first)
    stamped = datetime.fromisoformat(db.read("SELECT local_ts FROM outbox LIMIT 1")[0][0])
    assert abs(stamped - (datetime.now(UTC) + offset)) < timedelta(minutes=5)
    assert await engine.push_once() == 3
    assert Outbox(db).count(OpState.ACKED) == 3
    assert crm_seqs(loopback_world, db) == [1, 2, 3]
    status = engine.status()
    assert (status.online, status.queue_depth, status.problem) == (True, 0, "")


async def test_a_backoff_set_while_the_clock_ran_days_ahead_does_not_strand_the_queue(
    db: TillDatabase,
    loopback_world: World,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = TillClock(monkeypatch)
    customer = put_customer(loopback_world, "brand", "a", first_name="Ntp")
    async with tcp_proxy(loopback_world.crm.url) as proxy:
        proxy.retry_after = 0
        proxy.arm(b"POST /v1/sync/push", Fault.UNAVAILABLE)
        async with CrmClient(proxy.url, token=token) as client:
            engine = SyncEngine(
                db,
                client,
                SyncSettings(),
                breaker=CircuitBreaker(threshold=1000),
                rng=NoJitter(),
            )
            clock.set(DAYS)
            sale(db, customer)
            assert await engine.push_once() == 0  # a 503 while the clock is days ahead
            assert proxy.applied == [Fault.UNAVAILABLE]

            clock.set(timedelta())  # NTP puts the clock right
            assert await engine.push_once() == 1
    assert crm_seqs(loopback_world, db) == [1]


class FullWait(random.Random):
    """Backoff at its ceiling: the failed batch waits the longest the backoff allows."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.every_crm_database
@pytest.mark.parametrize("restarted", [False, True], ids=["same-run", "restarted"])
async def test_a_clock_put_back_an_hour_after_a_failed_push_does_not_hold_the_queue(
    db: TillDatabase, loopback_world: World, token: str, restarted: bool
) -> None:
    """Within a run the wait is timed on the monotonic clock; after a restart the stored
    wall-clock retry, an hour further ahead than the backoff cap allows, is due at once.
    Either way the queue drains within the cap once the CRM answers."""
    wall = [time.time()]
    settings = SyncSettings(backoff_base_seconds=1.0, backoff_cap_seconds=2.0)
    customer = put_customer(loopback_world, "brand", "a", first_name="Step")
    async with tcp_proxy(loopback_world.crm.url) as proxy:
        proxy.retry_after = 0
        proxy.arm(b"POST /v1/sync/push", Fault.UNAVAILABLE)
        async with CrmClient(proxy.url, token=token) as client:

            def engine() -> SyncEngine:
                return SyncEngine(db, client, settings, rng=FullWait(), clock=lambda: wall[0])

            first = engine()
            sale(db, customer)
            assert await first.push_once() == 0
            assert proxy.applied == [Fault.UNAVAILABLE]
            failed = time.monotonic()
            wall[0] -= 3600  # the till's clock is set back an hour
            pushing = engine() if restarted else first
            async with asyncio.timeout(settings.backoff_cap_seconds + 1):
                while Outbox(db).depth():
                    await pushing.push_once()
                    await asyncio.sleep(0.02)
    assert time.monotonic() - failed <= settings.backoff_cap_seconds + 0.5
    assert crm_seqs(loopback_world, db) == [1]
