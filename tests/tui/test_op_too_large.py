"""An op too large for the CRM even alone, on the supervisor's sync screen: listed dead with
its size and the CRM's limit, like any op the CRM refused, while the ops after it synced."""

from __future__ import annotations

from pathlib import Path

from tests.support.till_db import queue_sale
from tests.support.tui import SIZE, SUPERVISOR, until
from tests.support.world import SUPERVISOR_PIN, world_on_a_crm_of_its_own
from tests.tui.cashier import enrolled_till, logged_in, new_customer, offline_app
from textual.widgets import DataTable

from tillcrm.api import encoded_op, push_body
from tillcrm.config import DeviceKind
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.local import OpState, Outbox
from tillcrm.screens.sync import SyncScreen

LIMIT = 16 * 1024


async def test_an_op_too_large_for_the_crm_is_listed_dead_with_its_size(
    tmp_path: Path, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    with world_on_a_crm_of_its_own("sqlite", tmp_path, max_body_bytes=LIMIT) as world:
        async with enrolled_till(tmp_path, world.crm, readers) as till:
            customer_id, _ = new_customer(world, first_name="Long")
            huge = queue_sale(till.db, customer_id, lines=100, description="x" * 200)
            after = queue_sale(till.db, customer_id)
            async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
                await logged_in(pilot, SUPERVISOR, SUPERVISOR_PIN)
                screen = SyncScreen(app.till)
                await app.push_screen(screen)
                table = screen.query_one("#sync-dead", DataTable)
                await until(pilot, lambda: table.row_count == 1, "the dead op listed")
                row = table.get_row(str(huge.op_id))
            acked = [entry.op for entry in Outbox(till.db).entries(OpState.ACKED)]

    size = len(push_body([encoded_op(huge)]))
    assert row[1] == "sale"
    assert row[-1] == f"too large for the CRM: {size} bytes, limit {LIMIT}"
    assert acked == [after]
