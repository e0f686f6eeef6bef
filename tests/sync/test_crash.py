"""Crash safety: till processes killed with SIGKILL at random points lose no committed op,
leave no gap in the outbox seq, and never make the CRM apply an op twice.

The processes are real (`sys.executable` running the till's own code on a real SQLite file);
the CRM is the reference CRM on loopback, checked through its own database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa

from tests.support.crm_server import RunningCrm
from tests.support.customers import put_customer
from tests.support.world import CASHIER_PIN, World
from tillcrm.api import OpStatus, TillContext
from tillcrm.config import Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import OpState, Outbox, open_database
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.tables import applied_ops, points_ledger
from tillcrm.sync import SyncEngine
from tillcrm.till import TillService

ROUNDS = 30

WRITER = """
import asyncio, sys
from pathlib import Path
from uuid import UUID
from tillcrm.api import SaleLineTender, TillContext
from tillcrm.config import Settings
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import TillLock, open_database
from tillcrm.till import Saved, TillService

data_dir, customer = Path(sys.argv[1]), UUID(sys.argv[2])
context = TillContext.model_validate_json((data_dir / "context.json").read_text())

async def main() -> None:
    with TillLock(data_dir):
        db = open_database(data_dir / "till.sqlite3")
        till = TillService(db, context, Settings(data_dir=data_dir), None)
        await till.login("brand-100", sys.argv[3])
        print("ready", flush=True)
        while True:
            saved = await till.sale(
                customer,
                [TransactionLine(description="Coffee", unit_price=1000)],
                [SaleLineTender(kind=TenderKind.CASH, amount=1000)],
            )
            assert isinstance(saved, Saved), saved
            print(saved.op.seq, flush=True)  # after COMMIT: a printed seq is durable

asyncio.run(main())
"""
"""A till taking cash sales offline (no CRM client) through `TillService`, as fast as it can,
printing each op's seq once `sale` returned, that is once the write committed."""

PUSHER = """
import asyncio, sys
from pathlib import Path
import httpx
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import TillLock, open_database
from tillcrm.sync import SyncEngine

data_dir, url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

class AnsweredThenHang(httpx.AsyncBaseTransport):
    # The CRM's answer arrives; the process hangs before recording it, and is killed.
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        await response.aread()
        if request.url.path.endswith("/sync/push"):
            print("answered", flush=True)
            await asyncio.Event().wait()
        return response

async def main() -> None:
    with TillLock(data_dir):
        db = open_database(data_dir / "till.sqlite3")
        client = CrmClient(url, token=token, transport=AnsweredThenHang())
        await SyncEngine(db, client, SyncSettings(batch_size=int(sys.argv[4]))).push_once()

asyncio.run(main())
"""
"""A sync worker that pushes one batch and is killed after the CRM committed and answered,
before the till recorded the answer: the batch stays inflight in the file."""

DRAINER = """
import asyncio, sys
from pathlib import Path
import httpx
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import Outbox, TillLock, open_database
from tillcrm.sync import SyncEngine

data_dir, url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

class Told(httpx.AsyncHTTPTransport):
    # The real transport, saying when a push was answered (the till records it next).
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        print("answered", flush=True)
        return response

async def main() -> None:
    with TillLock(data_dir):
        db = open_database(data_dir / "till.sqlite3")
        async with CrmClient(url, token=token, transport=Told()) as client:
            engine = SyncEngine(db, client, SyncSettings(batch_size=2))
            while Outbox(db).depth():
                await engine.push_once()
        print("drained", flush=True)

asyncio.run(main())
"""
"""A sync worker pushing the outbox two ops a request until it is empty."""


@dataclass
class Till:
    data_dir: Path
    context: TillContext
    token: str
    customer: UUID

    @property
    def db_path(self) -> Path:
        return self.data_dir / "till.sqlite3"


@pytest.fixture
async def till(tmp_path: Path, loopback_world: World) -> Till:
    """A till enrolled at brand a's store (its own seq on the CRM), with its scope and
    operators in a real database file that no process holds open."""
    crm = loopback_world.crm
    customer = put_customer(loopback_world, "brand", "a", first_name="Kill", last_name="Nine")
    with writing(crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, "brand-a-store")
    async with CrmClient(crm.url) as client:
        enrolled = await client.enroll(code, "crash till")
    (tmp_path / "context.json").write_text(enrolled.context.model_dump_json())
    till = Till(tmp_path, enrolled.context, enrolled.token, customer)
    db = open_database(till.db_path)
    async with CrmClient(crm.url, token=till.token) as client:
        await SyncEngine(db, client, SyncSettings()).pull_once()
        service = TillService(db, till.context, Settings(data_dir=tmp_path), client)
        assert await service.refresh_operators()
    db.close()
    return till


def run(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def kill(process: subprocess.Popen[str]) -> list[str]:
    """SIGKILL the process and return the whole lines it printed before dying."""
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL, err
    return out.splitlines()


def crm_ops(crm: RunningCrm, till_id: str) -> list[tuple[int, UUID]]:
    """The ops the CRM applied for this till: (seq, op id), by seq."""
    with crm.engine.connect() as conn:
        rows = conn.execute(
            sa.select(applied_ops.c.seq, applied_ops.c.op_id)
            .where(applied_ops.c.till_id == till_id)
            .order_by(applied_ops.c.seq)
        ).all()
    return [(int(row.seq), row.op_id) for row in rows]


def points_moved(crm: RunningCrm, customer: UUID) -> list[UUID]:
    """The op ids of every points movement of the customer, one entry a movement."""
    with crm.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(points_ledger.c.op_id).where(points_ledger.c.customer_id == customer)
            ).scalars()
        )


class Statuses(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping the CRM's answer to each pushed op."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/sync/push") and response.status_code == 200:
            body = json.loads(await response.aread())
            self.seen += [result["status"] for result in body["results"]]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def drain(till: Till, crm: RunningCrm) -> list[str]:
    """Push the whole outbox with a fresh engine, as a restarted till does; the CRM's
    answers, op by op."""
    db = open_database(till.db_path)
    transport = Statuses()
    try:
        async with CrmClient(crm.url, token=till.token, transport=transport) as client:
            engine = SyncEngine(db, client, SyncSettings(batch_size=50))
            while Outbox(db).depth():
                before = Outbox(db).depth()
                await engine.push_once()
                assert Outbox(db).depth() < before, engine.status().problem
        states = db.read("SELECT DISTINCT state FROM outbox")
        assert [row["state"] for row in states] == [OpState.ACKED.value]
    finally:
        db.close()
    return transport.seen


def outbox_seqs(till: Till) -> list[tuple[int, UUID]]:
    db = open_database(till.db_path)
    try:
        assert db.read("PRAGMA integrity_check")[0][0] == "ok"
        rows = db.read("SELECT seq, op_id FROM outbox ORDER BY seq")
        return [(row["seq"], UUID(row["op_id"])) for row in rows]
    finally:
        db.close()


async def test_writers_killed_at_random_points_lose_no_committed_op_and_leave_no_gap(
    till: Till, loopback_world: World
) -> None:
    rng = random.Random(4)
    printed: list[int] = []
    for round_ in range(ROUNDS):
        writer = run(WRITER, str(till.data_dir), str(till.customer), CASHIER_PIN)
        if round_ % 6 == 5:
            # Anywhere in start-up: the lock, opening and migrating the file, the login.
            await asyncio.sleep(rng.uniform(0, 0.5))
        else:
            assert writer.stdout is not None
            assert await asyncio.to_thread(writer.stdout.readline) == "ready\n", writer.stderr
            await asyncio.sleep(rng.uniform(0, 0.08))
        printed += [int(line) for line in kill(writer) if line != "ready"]

    stored = outbox_seqs(till)
    seqs = [seq for seq, _ in stored]
    assert seqs == list(range(1, len(seqs) + 1)), "the outbox seq has a gap"
    assert len(printed) == len(set(printed)), "a seq was handed out twice"
    assert set(printed) <= set(seqs), "an op reported as saved was lost"
    assert len(printed) >= ROUNDS, "too few ops were taken to show anything"

    await drain(till, loopback_world.crm)
    assert crm_ops(loopback_world.crm, till.context.till_id) == stored
    moved = points_moved(loopback_world.crm, till.customer)
    assert sorted(moved) == sorted(op_id for _, op_id in stored), "an op moved points twice"


async def test_a_push_killed_after_the_crm_answered_is_resent_as_a_duplicate(
    till: Till, loopback_world: World
) -> None:
    crm = loopback_world.crm
    writer = run(WRITER, str(till.data_dir), str(till.customer), CASHIER_PIN)
    assert writer.stdout is not None
    assert writer.stdout.readline() == "ready\n"
    assert [writer.stdout.readline() for _ in range(8)] == [f"{seq}\n" for seq in range(1, 9)]
    kill(writer)
    stored = outbox_seqs(till)

    pusher = run(PUSHER, str(till.data_dir), crm.url, till.token, "5")
    assert pusher.stdout is not None
    line = await asyncio.to_thread(pusher.stdout.readline)
    assert line == "answered\n", pusher.communicate()[1]
    kill(pusher)
    db = open_database(till.db_path)
    assert Outbox(db).count(OpState.INFLIGHT) == 5  # sent, applied, never recorded
    db.close()
    assert [seq for seq, _ in crm_ops(crm, till.context.till_id)] == [1, 2, 3, 4, 5]

    answers = await drain(till, crm)
    resent = [OpStatus.DUPLICATE.value] * 5
    assert answers == resent + [OpStatus.APPLIED.value] * (len(stored) - 5)
    assert crm_ops(crm, till.context.till_id) == stored
    assert sorted(points_moved(crm, till.customer)) == sorted(op_id for _, op_id in stored)


async def test_sync_workers_killed_at_random_points_push_every_op_exactly_once(
    till: Till, loopback_world: World
) -> None:
    crm = loopback_world.crm
    writer = run(WRITER, str(till.data_dir), str(till.customer), CASHIER_PIN)
    assert writer.stdout is not None
    lines = [writer.stdout.readline() for _ in range(401)]
    assert lines[0] == "ready\n"
    kill(writer)
    stored = outbox_seqs(till)

    rng = random.Random(9)
    pushed = [0]
    for _ in range(8):
        drainer = run(DRAINER, str(till.data_dir), crm.url, till.token)
        assert drainer.stdout is not None
        line = await asyncio.to_thread(drainer.stdout.readline)
        assert line == "answered\n", drainer.communicate()[1]
        await asyncio.sleep(rng.uniform(0, 0.05))  # more batches on the way, one inflight
        assert "drained" not in kill(drainer)
        pushed.append(len(crm_ops(crm, till.context.till_id)))
    assert pushed == sorted(pushed), "the CRM lost ops"
    assert pushed[-1] < len(stored), "the queue drained before the last kill"

    await drain(till, crm)
    assert crm_ops(crm, till.context.till_id) == stored
    assert sorted(points_moved(crm, till.customer)) == sorted(op_id for _, op_id in stored)
