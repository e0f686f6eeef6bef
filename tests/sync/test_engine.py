"""The sync engine against the real reference CRM on loopback: every op exactly once, in seq
order, whatever happens to the server, the network or the till; pull fills the cache with the
till's scope and nothing else."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa

from tests.support.crm_server import RunningCrm, free_port, serve_crm
from tests.support.customers import put_customer
from tests.support.world import World, build_world
from tillcrm.api import Op, OpStatus, OpType, SaleLineTender, SalePayload
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.domain import IdentifierKind, TenderKind, TransactionLine
from tillcrm.local import CustomerCache, Meta, OpState, Outbox, TillDatabase, open_database
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.tables import applied_ops, points_ledger
from tillcrm.sync import NOT_AUTHORIZED, CircuitBreaker, SyncEngine, SyncStatus


class NoJitter(random.Random):
    """Backoff without the random wait, so a retried batch is due at once (no timed tests)."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Recorder(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping each request's path and each push's answer."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []
        self.push_statuses: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/sync/push") and response.status_code == 200:
            body = json.loads(await response.aread())
            self.push_statuses += [result["status"] for result in body["results"]]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


SETTINGS = SyncSettings(batch_size=3, pull_page_size=2, interval_seconds=0.05)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    yield database
    database.close()


def enroll(world: World, store_id: str = "brand-a-store") -> str:
    """A new till at `store_id` (its own seq on the CRM), returning its token."""
    with writing(world.crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, store_id)
    with world.crm.client() as http:
        response = http.post("/tills/enroll", json={"code": code, "name": f"till {code}"})
        response.raise_for_status()
        return str(response.json()["token"])


def engine_for(
    db: TillDatabase,
    url: str,
    token: str,
    *,
    statuses: list[SyncStatus] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    breaker: CircuitBreaker | None = None,
) -> SyncEngine:
    client = CrmClient(url, token=token, connect_timeout=2, read_timeout=20, transport=transport)
    return SyncEngine(
        db,
        client,
        SETTINGS,
        on_status=statuses.append if statuses is not None else None,
        breaker=breaker,
        rng=NoJitter(),
    )


def sale(customer_id: UUID, db: TillDatabase, *, amount: int = 1000, paid: int | None = None) -> Op:
    """A cash sale of `amount` minor units (10 points each 1000), saved as the till saves it."""
    payload = SalePayload(
        transaction_id=uuid4(),
        lines=[TransactionLine(description="Lunch", unit_price=amount)],
        tenders=[SaleLineTender(kind=TenderKind.CASH, amount=paid or amount)],
    )
    with db.write() as conn:
        return Outbox.enqueue(
            conn,
            type=OpType.SALE,
            entity_id=customer_id,
            payload=payload,
            operator_id="brand-cashier",
        )


def ledger(crm: RunningCrm, customer_id: UUID) -> dict[UUID, int]:
    """The CRM's points ledger of one customer: op id -> points moved."""
    with crm.engine.connect() as conn:
        rows = conn.execute(
            sa.select(points_ledger.c.op_id, points_ledger.c.delta).where(
                points_ledger.c.customer_id == customer_id
            )
        ).all()
    assert len(rows) == len({row.op_id for row in rows}), "an op moved the ledger twice"
    return {row.op_id: int(row.delta) for row in rows}


async def test_ops_taken_with_the_crm_down_reach_it_exactly_once_when_it_is_back(
    tmp_path: Path, db: TillDatabase
) -> None:
    db_url, port = f"sqlite:///{tmp_path / 'crm.sqlite3'}", free_port()
    with serve_crm(db_url, port) as crm:
        world = build_world(crm)
        customer = put_customer(world, "brand", "a", first_name="Olive", last_name="Offline")
    statuses: list[SyncStatus] = []
    engine = engine_for(db, crm.url, world.tokens["brand.a"], statuses=statuses)

    ops = [sale(customer, db, amount=1000 * (i + 1)) for i in range(7)]
    assert await engine.push_once() == 0
    assert statuses[-1].label == "offline"
    assert statuses[-1].queue_depth == 7
    assert "cannot reach the CRM" in statuses[-1].problem

    with serve_crm(db_url, port) as back:
        assert await engine.push_once() == 7
        assert await engine.push_once() == 0
        assert ledger(back, customer) == {op.op_id: 10 * (i + 1) for i, op in enumerate(ops)}
        with back.engine.connect() as conn:
            till_ops = conn.execute(
                sa.select(applied_ops.c.seq).where(applied_ops.c.seq.is_not(None))
            ).scalars()
            assert sorted(till_ops) == list(range(1, 8))
    assert (statuses[-1].label, statuses[-1].queue_depth) == ("online", 0)
    assert statuses[-1].last_push_at is not None
    assert Outbox(db).count(OpState.ACKED) == 7


async def test_a_crash_between_send_and_answer_resends_and_gets_duplicates(
    tmp_path: Path, loopback_world: World
) -> None:
    token = enroll(loopback_world)
    customer = put_customer(loopback_world, "brand", "a", first_name="Crash")
    path = tmp_path / "till.sqlite3"
    db = open_database(path)
    ops = [sale(customer, db) for _ in range(3)]
    batch = Outbox(db).next_batch(10, now=time.time())
    assert batch is not None
    async with CrmClient(loopback_world.crm.url, token=token) as client:
        await client.push(batch.ops)  # the CRM applies them; the till dies before recording
    db.close()

    reopened = open_database(path)
    recorder = Recorder()
    engine = engine_for(reopened, loopback_world.crm.url, token, transport=recorder)
    assert await engine.push_once() == 3
    assert recorder.push_statuses == [OpStatus.DUPLICATE.value] * 3
    assert ledger(loopback_world.crm, customer) == {op.op_id: 10 for op in ops}
    assert Outbox(reopened).count(OpState.ACKED) == 3
    reopened.close()


async def test_a_rejected_op_goes_dead_and_the_ops_after_it_still_sync(
    db: TillDatabase, loopback_world: World
) -> None:
    token = enroll(loopback_world)
    customer = put_customer(loopback_world, "brand", "a", first_name="Poison")
    good_before = sale(customer, db)
    poison = sale(customer, db, amount=1000, paid=900)
    good_after = [sale(customer, db) for _ in range(4)]
    statuses: list[SyncStatus] = []
    engine = engine_for(db, loopback_world.crm.url, token, statuses=statuses)

    assert await engine.push_once() == 6
    [dead] = Outbox(db).entries(OpState.DEAD)
    assert dead.op == poison
    assert "tenders add up to 900" in dead.last_error
    assert ledger(loopback_world.crm, customer) == {
        op.op_id: 10 for op in [good_before, *good_after]
    }
    assert (statuses[-1].dead, statuses[-1].queue_depth) == (1, 0)


async def test_401_stops_pushing_and_says_till_not_authorized(
    db: TillDatabase, loopback_world: World
) -> None:
    customer = put_customer(loopback_world, "brand", "a", first_name="Nobody")
    sale(customer, db)
    recorder = Recorder()
    statuses: list[SyncStatus] = []
    engine = engine_for(
        db, loopback_world.crm.url, "not-a-token", statuses=statuses, transport=recorder
    )

    assert await engine.push_once() == 0
    assert await engine.push_once() == 0
    await engine.pull_once()
    assert recorder.paths == ["/v1/sync/push"]
    assert statuses[-1].label == NOT_AUTHORIZED
    assert statuses[-1].problem.startswith(NOT_AUTHORIZED)
    [waiting] = Outbox(db).entries(OpState.PENDING)
    assert waiting.attempts == 0


async def test_pull_loads_the_scope_and_never_another_brands_customer(
    db: TillDatabase, loopback_world: World
) -> None:
    ours = [
        put_customer(loopback_world, "brand", "a", first_name="Ada", mobile=f"+1415555{i:04d}")
        for i in range(5)
    ]
    theirs = [
        put_customer(loopback_world, "brand", "b", first_name="Bea", mobile="+14155550003")
        for _ in range(3)
    ]
    engine = engine_for(db, loopback_world.crm.url, loopback_world.tokens["brand.a"])
    cache = CustomerCache(db)

    loaded = await engine.pull_once()
    assert loaded == cache.count() >= len(ours)
    assert all(cache.get(c) is not None for c in ours)
    assert all(cache.get(c) is None for c in theirs)
    cached = [cache.get(UUID(row["id"])) for row in db.read("SELECT id FROM customers")]
    assert {c.brand_id for c in cached if c is not None} == {"brand-a"}
    assert [row.id for row in cache.by_phone("+1 415 555 0003")] == [ours[3]]
    assert Meta(db).cursor() is not None

    assert await engine.pull_once() == 0
    later = put_customer(
        loopback_world, "brand", "a", first_name="Late", cards={IdentifierKind.BARCODE: "L-77"}
    )
    assert await engine.pull_once() == 1
    found = cache.by_identifier(IdentifierKind.BARCODE, "L-77")
    assert found is not None
    assert found.id == later
    assert engine.status().last_pull_at is not None


async def test_a_crm_restored_from_a_backup_gets_the_ops_it_lost_again(
    tmp_path: Path, db: TillDatabase
) -> None:
    crm_file = tmp_path / "crm.sqlite3"
    db_url, port = f"sqlite:///{crm_file}", free_port()
    with serve_crm(db_url, port) as crm:
        world = build_world(crm)
        customer = put_customer(world, "brand", "a", first_name="Backup")
        engine = engine_for(db, crm.url, world.tokens["brand.a"])
        ops = [sale(customer, db) for _ in range(2)]
        assert await engine.push_once() == 2
    shutil.copy(crm_file, tmp_path / "backup.sqlite3")
    with serve_crm(db_url, port):
        ops += [sale(customer, db) for _ in range(2)]
        assert await engine.push_once() == 2
    shutil.copy(tmp_path / "backup.sqlite3", crm_file)  # the CRM loses ops 3 and 4

    with serve_crm(db_url, port) as restored:
        ops.append(sale(customer, db))
        recorder = Recorder()
        engine = engine_for(db, restored.url, world.tokens["brand.a"], transport=recorder)
        await engine.push_once()
        assert ledger(restored, customer) == {op.op_id: 10 for op in ops}
    assert Outbox(db).depth() == 0
    assert recorder.push_statuses == [OpStatus.APPLIED.value] * 3


async def test_run_syncs_until_stopped(db: TillDatabase, loopback_world: World) -> None:
    token = enroll(loopback_world)
    customer = put_customer(loopback_world, "brand", "a", first_name="Runner")
    ops = [sale(customer, db) for _ in range(5)]
    stop = asyncio.Event()

    def watch(status: SyncStatus) -> None:
        if status.queue_depth == 0 and status.last_pull_at is not None:
            stop.set()

    engine = SyncEngine(
        db, CrmClient(loopback_world.crm.url, token=token), SETTINGS, on_status=watch
    )
    await asyncio.wait_for(engine.run(stop), timeout=60)
    assert ledger(loopback_world.crm, customer) == {op.op_id: 10 for op in ops}
    assert CustomerCache(db).get(customer) is not None


# -- fault shapes a real server cannot produce on demand ---------------------------------------


def pushed_ok(request_body: dict[str, Any]) -> dict[str, Any]:
    """The answer of a healthy CRM: every op applied."""
    ops = request_body["ops"]
    return {
        "results": [{"op_id": op["op_id"], "seq": op["seq"], "status": "applied"} for op in ops],
        "last_seq": ops[-1]["seq"],
    }


async def test_429_retry_after_is_a_floor_for_the_backoff(db: TillDatabase) -> None:
    slow_down = httpx.Response(
        429, headers={"Retry-After": "120"}, json={"detail": "slow down", "code": "rate_limited"}
    )
    transport = httpx.MockTransport(lambda request: slow_down)
    statuses: list[SyncStatus] = []
    engine = engine_for(db, "http://crm.test", "t", statuses=statuses, transport=transport)
    sale(uuid4(), db)

    started = time.time()
    assert await engine.push_once() == 0
    outbox = Outbox(db)
    assert outbox.next_batch(10, now=started + 119) is None
    assert outbox.next_batch(10, now=time.time() + 121) is not None
    assert "HTTP 429" in statuses[-1].problem


async def test_repeated_503s_open_the_breaker_which_probes_health_until_the_crm_is_back(
    db: TillDatabase,
) -> None:
    down = httpx.Response(503, json={"detail": "maintenance", "code": "unavailable"})
    state = {"up": False}
    paths: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if not state["up"]:
            return down
        if request.url.path.endswith("/health"):
            return httpx.Response(200, json={"status": "ok", "time": "2026-11-23T20:00:00Z"})
        return httpx.Response(200, json=pushed_ok(json.loads(request.content)))

    breaker = CircuitBreaker(threshold=2, probe_interval=0)
    engine = engine_for(
        db, "http://crm.test", "t", transport=httpx.MockTransport(handle), breaker=breaker
    )
    sale(uuid4(), db)
    await engine.push_once()
    await engine.push_once()
    assert breaker.is_open
    [waiting] = Outbox(db).entries(OpState.PENDING)
    assert waiting.attempts == 2
    assert "HTTP 503" in waiting.last_error

    await engine.push_once()  # open: only a probe goes, and it fails
    assert paths == ["/v1/sync/push", "/v1/sync/push", "/v1/health"]
    state["up"] = True
    assert await engine.push_once() == 1  # the probe succeeds, then the push goes
    assert paths[3:] == ["/v1/health", "/v1/sync/push"]
    assert not breaker.is_open
    assert engine.status().online


async def test_a_round_with_nothing_to_push_still_pulls(
    db: TillDatabase, loopback_world: World
) -> None:
    customer = put_customer(loopback_world, "brand", "a", first_name="Idle")
    engine = engine_for(db, loopback_world.crm.url, loopback_world.tokens["brand.a"])
    await engine.sync_once()
    assert CustomerCache(db).get(customer) is not None
    assert engine.status().online


class CorruptPull(httpx.AsyncBaseTransport):
    """The real HTTP transport, but the pull answer number `corrupt` (0: the first; None:
    none) has its last customer with a malformed mobile (a CRM bug the reference CRM cannot
    have: it validates on write)."""

    def __init__(self, corrupt: int | None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.corrupt = corrupt
        self.pulls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/sync/pull"):
            return response
        self.pulls += 1
        if self.pulls - 1 != self.corrupt:
            return response
        body = json.loads(await response.aread())
        body["customers"][-1]["profile"]["mobile"] = "0123"
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("corrupt", [0, 1])
async def test_a_page_the_cache_cannot_index_stores_nothing_and_is_pulled_again(
    db: TillDatabase, loopback_world: World, corrupt: int
) -> None:
    for i in range(2 * SETTINGS.pull_page_size + 1):
        put_customer(loopback_world, "brand", "a", first_name=f"Pia{i}")
    transport = CorruptPull(corrupt)
    engine = engine_for(
        db, loopback_world.crm.url, loopback_world.tokens["brand.a"], transport=transport
    )
    cache = CustomerCache(db)

    # The pages before the bad one are stored; the bad one and any asked for ahead are not.
    assert await engine.pull_once() == cache.count() == corrupt * SETTINGS.pull_page_size
    assert (Meta(db).cursor() is None) == (corrupt == 0)
    assert "cannot store" in engine.status().problem
    assert engine.status().last_pull_at is None

    transport.corrupt = None
    assert await engine.pull_once() > 0
    with loopback_world.crm.client(loopback_world.tokens["brand.a"]) as http:
        in_scope = http.get("/sync/pull", params={"limit": 1000}).json()["customers"]
    assert cache.count() == len(in_scope)
    assert engine.status().problem == ""


async def test_a_round_that_fails_unexpectedly_does_not_end_syncing(db: TillDatabase) -> None:
    calls = {"push": 0}
    stop = asyncio.Event()
    statuses: list[SyncStatus] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/pull"):
            return httpx.Response(200, json={"customers": [], "cursor": "0", "more": False})
        calls["push"] += 1
        if calls["push"] == 1:
            raise RuntimeError("a bug, not a network fault")
        return httpx.Response(200, json=pushed_ok(json.loads(request.content)))

    def watch(status: SyncStatus) -> None:
        statuses.append(status)
        if status.queue_depth == 0 and status.last_pull_at is not None:
            stop.set()

    engine = SyncEngine(
        db,
        CrmClient("http://crm.test", token="t", transport=httpx.MockTransport(handle)),
        SyncSettings(interval_seconds=0.05),
        on_status=watch,
    )
    sale(uuid4(), db)
    await asyncio.wait_for(engine.run(stop), timeout=20)
    assert calls["push"] == 2
    assert any("sync round failed, retrying" in s.problem for s in statuses)
    assert Outbox(db).depth() == 0
