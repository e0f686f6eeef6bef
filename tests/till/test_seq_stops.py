"""The CRM stops taking a till's ops only at a gap or at a seq it holds for another op; the
till shows either as a blocking problem with the fix, and a supervisor's renumbering moves
the queue again with nothing lost or doubled. An op the CRM cannot take never stops it."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa

from tests.support.crm_server import RunningCrm
from tests.support.customers import put_customer
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, SUPERVISOR_PIN, World
from tillcrm.api import OpType, SaleLineTender
from tillcrm.cli.sync_cmd import queue_lines
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import OpState, Outbox, open_database
from tillcrm.server.db import reading
from tillcrm.server.ops import APPLIERS
from tillcrm.server.tables import points_accounts, points_ledger
from tillcrm.sync import SyncEngine
from tillcrm.till import Identification, Saved, TillService

pytestmark = pytest.mark.every_crm_database


async def _logged_in(till: Till, code: str = "brand-100", pin: str = CASHIER_PIN) -> TillService:
    service = till.service()
    await service.login(code, pin)
    return service


async def _cash_sale(service: TillService, customer_id: UUID, amount: int) -> int:
    """A cash sale queued (not yet pushed); its seq. It earns a point a whole unit."""
    saved = await service.sale(
        customer_id,
        [TransactionLine(description="Lunch", unit_price=amount)],
        [SaleLineTender(kind=TenderKind.CASH, amount=amount)],
    )
    assert isinstance(saved, Saved)
    assert saved.op.seq is not None
    return saved.op.seq


def _points(crm: RunningCrm, customer_id: UUID) -> tuple[int, int]:
    """The customer's points balance at the CRM and how many ledger lines made it."""
    with reading(crm.engine) as conn:
        balance = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(points_accounts.c.balance), 0)).where(
                points_accounts.c.customer_id == customer_id
            )
        ).scalar_one()
        lines = conn.execute(
            sa.select(sa.func.count()).where(points_ledger.c.customer_id == customer_id)
        ).scalar_one()
    return int(balance), int(lines)


def _restored(till: Till, backup: Path) -> Till:
    """The till running on the copy of its database at `backup`."""
    return dataclasses.replace(till, db=open_database(backup), clients=till.clients)


async def test_a_till_restored_from_an_old_copy_blocks_until_renumbered_then_syncs_once(
    till: Till, loopback_world: World, loopback_crm: RunningCrm, tmp_path: Path
) -> None:
    """Copy the database with a sale unsent, sync it and one more, restore the copy, sell
    twice: the push stops at the first seq the CRM holds for another op, and the till says so
    with the fix, on its status and in `tillcrm sync --status`. The supervisor renumbers: the
    unsent sale the CRM already applied is known by its op id, the new ones apply, and each
    sale earned its points once."""
    customer_id = put_customer(loopback_world, "brand", first_name="Rita")
    await till.sync()
    service = await _logged_in(till)
    await _cash_sale(service, customer_id, 1_000)
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(backup) as copy:
        till.db.connection.backup(copy)
    await _cash_sale(service, customer_id, 2_000)
    await till.sync()
    assert _points(loopback_crm, customer_id) == (30, 2)

    restored = _restored(till, backup)
    try:
        again = await _logged_in(restored)
        reused = await _cash_sale(again, customer_id, 4_000)
        await _cash_sale(again, customer_id, 8_000)
        engine = SyncEngine(restored.db, restored.client(), restored.settings.sync)
        await engine.sync_once()

        status = engine.status()
        assert f"seq {reused} was already used by op" in status.blocking
        assert "older than the CRM's record of it" in status.blocking
        assert "renumbers the unsent ops after the CRM's seq 2" in status.blocking
        assert status.queue_depth == 2
        assert f"blocked: {status.blocking}" in queue_lines(restored.db)
        assert _points(loopback_crm, customer_id) == (30, 2)

        cashier = await _logged_in(restored)
        assert not isinstance(cashier.renumber_unsent(), int)
        supervisor = await _logged_in(restored, "brand-900", SUPERVISOR_PIN)
        assert supervisor.renumber_unsent() == 2
        await engine.sync_once()

        status = engine.status()
        assert (status.queue_depth, status.blocking, status.problem) == (0, "", "")
        assert _points(loopback_crm, customer_id) == (150, 4)
        assert [line for line in queue_lines(restored.db) if line.startswith("blocked")] == []
    finally:
        restored.db.close()


async def test_an_op_type_the_crm_does_not_take_goes_dead_and_the_ops_after_it_sync(
    till: Till, loopback_world: World, loopback_crm: RunningCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CRM built without the visit applier (an older CRM) rejects each visit for its seq:
    the visits are dead letters with the CRM's reason, the sales between them apply."""
    customer_id = put_customer(loopback_world, "brand", first_name="Vic")
    await till.sync()
    service = await _logged_in(till)
    found = service.choose(customer_id)
    assert isinstance(found, Identification)
    await _cash_sale(service, customer_id, 1_000)
    assert isinstance(service.choose(customer_id), Identification)
    await _cash_sale(service, customer_id, 2_000)
    monkeypatch.delitem(APPLIERS, OpType.VISIT)

    engine = SyncEngine(till.db, till.client(), till.settings.sync)
    await engine.sync_once()

    outbox = Outbox(till.db)
    dead = outbox.entries(OpState.DEAD)
    assert [e.op.type for e in dead] == [OpType.VISIT, OpType.VISIT]
    assert {e.last_error for e in dead} == {"this CRM does not take visit ops"}
    assert engine.status().queue_depth == 0
    assert engine.status().blocking == ""
    assert _points(loopback_crm, customer_id) == (30, 2)


async def test_a_gap_left_by_an_op_dead_untaken_is_blocking_until_renumbered(
    till: Till, loopback_world: World, loopback_crm: RunningCrm
) -> None:
    """An op an older CRM refused with its whole push went dead without the CRM taking its
    seq (this CRM takes a withheld op's seq; a till upgraded with such an op still holds it),
    so the CRM waits for that seq: the till says so with the fix, not "pending". Renumbered,
    the ops after it sync, and the dead op stays listed, out of the CRM's numbering."""
    customer_id = put_customer(loopback_world, "brand", first_name="Gus")
    await till.sync()
    service = await _logged_in(till)
    refused = await _cash_sale(service, customer_id, 1_000)
    await _cash_sale(service, customer_id, 2_000)
    await _cash_sale(service, customer_id, 4_000)
    with till.db.write() as conn:
        conn.execute(
            "UPDATE outbox SET state = ?, last_error = ? WHERE seq = ?",
            (OpState.DEAD.value, "refused with its whole push by an older CRM", refused),
        )
    engine = SyncEngine(till.db, till.client(), till.settings.sync)
    await engine.sync_once()

    status = engine.status()
    assert f"waits for op {refused}" in status.blocking or (
        f"op {refused} has not reached it" in status.blocking
    )
    assert "renumbers the unsent ops" in status.blocking
    assert status.queue_depth == 2

    supervisor = await _logged_in(till, "brand-900", SUPERVISOR_PIN)
    assert supervisor.renumber_unsent() == 2
    await engine.sync_once()

    status = engine.status()
    assert (status.queue_depth, status.blocking) == (0, "")
    [dead] = supervisor.dead_letters()
    assert dead.op.seq is None
    assert _points(loopback_crm, customer_id) == (60, 2)
