"""One op the CRM will never take does not block the queue: it goes dead with the CRM's
reason, for the supervisor's dead-letter list, and the ops after it reach the CRM."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.support.customers import put_customer
from tests.support.outbox import Outbox as CrmOutbox
from tests.support.outbox import sale
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, SUPERVISOR_PIN, World
from tillcrm.api import OpType
from tillcrm.local import OpState, Outbox
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
