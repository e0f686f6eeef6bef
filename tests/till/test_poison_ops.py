"""One op the CRM will never take does not block the queue: it goes dead with the CRM's
reason, for the supervisor's dead-letter list, and the ops after it reach the CRM."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from tests.support.customers import put_customer
from tests.support.outbox import Outbox as CrmOutbox
from tests.support.outbox import sale
from tests.support.world import CASHIER_PIN, SUPERVISOR_PIN, World
from tests.till.conftest import Till
from tillcrm.api import OpType
from tillcrm.local import OpState, Outbox, open_database
from tillcrm.sync import SyncEngine
from tillcrm.till import Identification, TillService


async def _cashier(till: Till) -> TillService:
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    return service


def _visit(service: TillService, customer_id: UUID) -> int:
    """A visit op enqueued (not yet pushed); its seq."""
    found = service.choose(customer_id)
    assert isinstance(found, Identification)
    assert found.visit.op.seq is not None
    return found.visit.op.seq


def _states(till: Till) -> list[str]:
    return [row[0] for row in till.db.read("SELECT state FROM outbox ORDER BY seq")]


@pytest.mark.every_crm_database
async def test_an_op_id_the_crm_knows_with_another_payload_goes_dead_and_the_rest_syncs(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Polly")
    await till.sync()
    with CrmOutbox(loopback_world, "brand.a") as other:
        taken = other.op(OpType.SALE, customer_id, sale(("cash", 500)))
        other.apply(taken)
    service = await _cashier(till)
    poison = _visit(service, customer_id)
    after = _visit(service, customer_id)
    with till.db.write() as conn:  # an op id that collides with another till's op
        conn.execute("UPDATE outbox SET op_id = ? WHERE seq = ?", (taken["op_id"], poison))

    await SyncEngine(till.db, till.client(), till.settings.sync).sync_once()

    outbox = Outbox(till.db)
    [dead] = outbox.entries(OpState.DEAD)
    assert dead.op.seq == poison
    assert "different payload" in dead.last_error
    assert outbox.depth() == 0
    assert _states(till)[-1] == OpState.ACKED
    assert after > poison
    supervisor = till.service()
    await supervisor.login("brand-900", SUPERVISOR_PIN)
    assert [e.op.seq for e in supervisor.dead_letters()] == [poison]


@pytest.mark.every_crm_database
async def test_a_push_the_crm_refuses_whole_is_narrowed_to_the_op_it_refuses(
    till: Till, loopback_world: World, tmp_path: Path
) -> None:
    """A till database restored from a backup hands out seqs the CRM already holds: the CRM
    answers 422 for the whole batch. Each such op goes dead, the next new seq syncs."""
    customer_id = put_customer(loopback_world, "brand", first_name="Rita")
    await till.sync()
    service = await _cashier(till)
    _visit(service, customer_id)
    await till.sync()
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(backup) as copy:
        till.db.connection.backup(copy)
    _visit(service, customer_id)
    _visit(service, customer_id)
    await till.sync()
    assert Outbox(till.db).count(OpState.ACKED) == 3

    restored = dataclasses.replace(till, db=open_database(backup), clients=till.clients)
    try:
        again = await _cashier(restored)
        reused = [_visit(again, customer_id) for _ in range(2)]
        fresh = _visit(again, customer_id)

        engine = SyncEngine(restored.db, restored.client(), restored.settings.sync)
        await engine.sync_once()

        outbox = Outbox(restored.db)
        dead = outbox.entries(OpState.DEAD)
        assert [e.op.seq for e in dead] == reused
        assert all("already used" in e.last_error for e in dead)
        assert outbox.depth() == 0
        assert _states(restored)[fresh - 1] == OpState.ACKED
        assert engine.status().problem == ""
    finally:
        restored.db.close()
