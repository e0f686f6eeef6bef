"""Network faults between the till and the real CRM, made by a loopback TCP proxy: whatever
the network does to a push, every op reaches the CRM exactly once, in seq order.

The answer to a push can be lost after the CRM committed (dropped, late, reset): the till
cannot tell that from a push that never arrived, resends, and the CRM answers duplicate.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from tests.support.crm_server import RunningCrm
from tests.support.customers import put_customer
from tests.support.tcp_proxy import Fault, TcpProxy, tcp_proxy
from tests.support.world import World
from tillcrm.api import Op, OpStatus, OpType, SaleLineTender, SalePayload
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import OpState, Outbox, TillDatabase, open_database
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.tables import applied_ops, points_ledger
from tillcrm.sync import CircuitBreaker, SyncEngine

PUSH = b"POST /v1/sync/push"
READ_TIMEOUT = 0.5


class NoJitter(random.Random):
    """Backoff without the random wait: a failed batch is due again at once."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Answers(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping the CRM's answer to each pushed op."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.statuses: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/sync/push") and response.status_code == 200:
            body = json.loads(await response.aread())
            self.statuses += [result["status"] for result in body["results"]]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class PushTimes(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping when (monotonic) each push request went out."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.sent: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/push"):
            self.sent.append(time.monotonic())
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Till:
    """A till enrolled at brand a's store (its own seq on the CRM), its database, and an
    engine that reaches the CRM only through the proxy."""

    def __init__(self, world: World, db: TillDatabase, proxy: TcpProxy, token: str) -> None:
        self.crm: RunningCrm = world.crm
        self.db = db
        self.proxy = proxy
        self.token = token
        self.answers = Answers()
        self.client = CrmClient(
            proxy.url,
            token=token,
            connect_timeout=2,
            read_timeout=READ_TIMEOUT,
            transport=self.answers,
        )
        self.engine = SyncEngine(
            db,
            self.client,
            SyncSettings(batch_size=4),
            breaker=CircuitBreaker(threshold=1000),
            rng=NoJitter(),
        )
        self.customer = put_customer(world, "brand", "a", first_name="Net", last_name="Fault")

    def sale(self) -> Op:
        """A cash sale of 10.00 (10 points), saved as the till saves it."""
        payload = SalePayload(
            transaction_id=uuid4(),
            lines=[TransactionLine(description="Lunch", unit_price=1000)],
            tenders=[SaleLineTender(kind=TenderKind.CASH, amount=1000)],
        )
        with self.db.write() as conn:
            return Outbox.enqueue(
                conn,
                type=OpType.SALE,
                entity_id=self.customer,
                payload=payload,
                operator_id="brand-cashier",
            )

    async def drain(self) -> None:
        """Push until the outbox is empty; each round must make progress or fail visibly."""
        outbox = Outbox(self.db)
        for _ in range(50):
            if not outbox.depth():
                return
            await self.engine.push_once()
        raise AssertionError(f"the outbox did not drain: {self.engine.status().problem}")

    def assert_exactly_once(self, ops: list[Op]) -> None:
        """The CRM applied each op once, in seq order, and moved points once for each."""
        with self.crm.engine.connect() as conn:
            applied = conn.execute(
                sa.select(applied_ops.c.seq, applied_ops.c.op_id)
                .where(applied_ops.c.op_id.in_([op.op_id for op in ops]))
                .order_by(applied_ops.c.seq)
            ).all()
            moved = conn.execute(
                sa.select(points_ledger.c.op_id).where(points_ledger.c.customer_id == self.customer)
            ).scalars()
            moved_ops = sorted(moved)
        assert [(row.seq, row.op_id) for row in applied] == [(op.seq, op.op_id) for op in ops]
        assert moved_ops == sorted(op.op_id for op in ops), "an op moved points twice or never"
        assert Outbox(self.db).count(OpState.ACKED) == len(ops)


def enroll(world: World) -> str:
    with writing(world.crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, "brand-a-store")
    with world.crm.client() as http:
        response = http.post("/tills/enroll", json={"code": code, "name": f"till {code}"})
        response.raise_for_status()
        return str(response.json()["token"])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    yield database
    database.close()


@pytest.fixture
async def till(db: TillDatabase, loopback_world: World) -> AsyncIterator[Till]:
    async with tcp_proxy(loopback_world.crm.url) as proxy:
        till = Till(loopback_world, db, proxy, enroll(loopback_world))
        yield till
        await till.client.aclose()


@pytest.mark.parametrize("fault", [Fault.DROP_ANSWER, Fault.RESET_AFTER])
async def test_an_answer_lost_after_the_crm_committed_is_resent_and_answered_duplicate(
    till: Till, fault: Fault
) -> None:
    ops = [till.sale() for _ in range(3)]
    till.proxy.arm(PUSH, fault)

    assert await till.engine.push_once() == 0
    assert till.proxy.answered == [fault]  # the CRM had answered, so committed
    [first, *_] = Outbox(till.db).entries(OpState.PENDING)
    assert first.attempts == 1
    assert "cannot reach the CRM" in first.last_error

    assert await till.engine.push_once() == 3
    assert till.answers.statuses == [OpStatus.DUPLICATE.value] * 3
    till.assert_exactly_once(ops)


async def test_an_answer_slower_than_the_read_timeout_is_resent_and_answered_duplicate(
    till: Till,
) -> None:
    ops = [till.sale() for _ in range(3)]
    till.proxy.delay = READ_TIMEOUT * 4
    till.proxy.arm(PUSH, Fault.DELAY_ANSWER)

    assert await till.engine.push_once() == 0
    assert "did not answer in time" in till.engine.status().problem
    # The late answer's request may still be running on the CRM: wait until it answered.
    async with asyncio.timeout(10):
        while not till.proxy.answered:
            await asyncio.sleep(0.01)

    assert await till.engine.push_once() == 3
    assert till.answers.statuses == [OpStatus.DUPLICATE.value] * 3
    till.assert_exactly_once(ops)


async def test_a_connection_reset_before_the_crm_saw_the_push_is_applied_on_resend(
    till: Till,
) -> None:
    ops = [till.sale() for _ in range(3)]
    till.proxy.arm(PUSH, Fault.RESET_BEFORE)

    assert await till.engine.push_once() == 0
    assert till.proxy.answered == []

    assert await till.engine.push_once() == 3
    assert till.answers.statuses == [OpStatus.APPLIED.value] * 3
    till.assert_exactly_once(ops)


async def test_a_503_with_retry_after_holds_the_batch_back_at_least_that_long(
    till: Till,
) -> None:
    ops = [till.sale() for _ in range(2)]
    till.proxy.retry_after = 1
    till.proxy.arm(PUSH, Fault.UNAVAILABLE)

    started = time.time()
    assert await till.engine.push_once() == 0
    assert "HTTP 503" in till.engine.status().problem
    [due_at] = {row[0] for row in till.db.read("SELECT next_attempt_at FROM outbox")}
    assert due_at >= started + 1  # no jitter here: the wait is Retry-After's floor alone
    assert await till.engine.push_once() == 0  # not due yet: nothing is sent
    assert till.proxy.applied == [Fault.UNAVAILABLE]

    await asyncio.sleep(max(0.0, due_at - time.time()))
    assert await till.engine.push_once() == 2
    assert till.answers.statuses == [OpStatus.APPLIED.value] * 2
    till.assert_exactly_once(ops)


async def test_every_op_exactly_once_through_a_run_of_mixed_faults(till: Till) -> None:
    rng = random.Random(7)
    kinds = [Fault.DROP_ANSWER, Fault.RESET_AFTER, Fault.RESET_BEFORE, Fault.DELAY_ANSWER]
    faults = [rng.choice(kinds) for _ in range(10)]
    till.proxy.delay = READ_TIMEOUT * 2
    till.proxy.retry_after = 0
    ops = [till.sale() for _ in range(30)]
    till.proxy.arm(PUSH, *faults)

    await till.drain()
    # Every armed fault struck a push; later ops were taken while earlier ones were failing.
    assert till.proxy.applied == faults
    ops += [till.sale() for _ in range(5)]
    await till.drain()
    till.assert_exactly_once(ops)
    # The till saw one answer per op: a duplicate where the CRM's first answer was lost.
    assert len(till.answers.statuses) == len(ops)
    lost = [f for f in faults if f is not Fault.RESET_BEFORE]
    assert (OpStatus.DUPLICATE.value in till.answers.statuses) == bool(lost)
    assert set(till.answers.statuses) <= {OpStatus.APPLIED.value, OpStatus.DUPLICATE.value}


@pytest.mark.every_crm_database
async def test_the_queue_drains_within_two_seconds_of_the_crm_coming_back(till: Till) -> None:
    """With the default settings (a round every 5 s, the breaker opening after 3 failures),
    the loop wakes for each health probe, and the first probe after the CRM is back starts
    the drain: the push goes within the probe cap (1.5 s), not a whole interval later."""
    # The CRM's first answer to a new till may take longer than the fixture's short timeout.
    pushes = PushTimes()
    client = CrmClient(till.proxy.url, token=till.token, transport=pushes)
    engine = SyncEngine(till.db, client, SyncSettings())
    outbox = Outbox(till.db)
    till.proxy.cut()
    ops = [till.sale() for _ in range(3)]
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop))
    try:
        await asyncio.sleep(6)  # the breaker opens, and its probes back off to their cap
        assert (engine.status().online, outbox.depth()) == (False, 3)
        till.proxy.restore()
        restored = time.monotonic()
        async with asyncio.timeout(10):
            while outbox.depth():
                await asyncio.sleep(0.005)
        drained = time.monotonic() - restored
    finally:
        stop.set()
        await running
        await client.aclose()
    started = min(at for at in pushes.sent if at > restored) - restored
    print(f"drain started {started:.2f} s, ended {drained:.2f} s after the CRM came back")
    assert started < 2.0, f"the first push went {started:.2f} s after the CRM came back"
    till.assert_exactly_once(ops)


@pytest.mark.every_crm_database
async def test_a_push_problem_stays_in_the_status_after_a_pull_succeeds(till: Till) -> None:
    """The queue's oldest op waits out a 503's Retry-After; the next round's pull succeeds
    (the CRM answers it) and clears the connection problem, but not why the queue is
    stuck: that stays until a push gets the op through."""
    till.sale()
    till.proxy.retry_after = 60
    till.proxy.arm(PUSH, Fault.UNAVAILABLE)
    await till.engine.sync_once()
    assert "HTTP 503" in till.engine.status().blocking

    await till.engine.sync_once()  # the op is not due: no push; the pull succeeds
    status = till.engine.status()
    assert (status.online, status.problem, status.queue_depth) == (True, "", 1)
    assert status.blocking.startswith("op 1 not sent after 1 tries: ")
    assert "HTTP 503" in status.blocking


class ServerErrorFor(httpx.AsyncBaseTransport):
    """The real transport, except that a push carrying op `op_id` is answered 500 without
    reaching the CRM: a CRM that cannot store that one op (PostgreSQL and a NUL in text)."""

    def __init__(self, op_id: str | None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.op_id = op_id
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pushing = request.url.path.endswith("/sync/push")
        if self.op_id and pushing and self.op_id.encode() in request.content:
            self.refused += 1
            return httpx.Response(500, json={"detail": "internal error", "code": "internal"})
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.every_crm_database
async def test_an_op_the_crm_fails_five_times_alone_needs_attention_until_retried(
    till: Till,
) -> None:
    """A 500 on a batch sends its ops one at a time: the ops before the failing one sync,
    and after the same 500 five times in a row it needs attention, shown as what blocks the
    queue (the CRM takes seqs in order, so the ops after it wait). A supervisor's retry
    sends it and the rest once the CRM can store it."""
    ops = [till.sale() for _ in range(3)]
    refusing = ServerErrorFor(str(ops[1].op_id))
    settings = SyncSettings(batch_size=4)
    assert settings.attention_after_tries == 5
    async with CrmClient(till.proxy.url, token=till.token, transport=refusing) as client:
        engine = SyncEngine(
            till.db, client, settings, breaker=CircuitBreaker(threshold=1000), rng=NoJitter()
        )
        for _ in range(10):
            await engine.push_once()
        outbox = Outbox(till.db)
        assert refusing.refused == 1 + 5  # the batch, then op 2 alone five times
        assert [e.op.seq for e in outbox.entries(OpState.NEEDS_ATTENTION)] == [2]
        assert [e.op.seq for e in outbox.entries(OpState.PENDING)] == [3]
        status = engine.status()
        assert status.queue_depth == 2
        assert status.blocking.startswith("op 2 needs attention, the CRM failed it 6 times: ")
        assert "supervisor retries it on the sync screen" in status.blocking

        refusing.op_id = None  # the CRM is fixed
        assert outbox.retry_held() == 1
        assert await engine.push_once() == 2
    till.assert_exactly_once(ops)
