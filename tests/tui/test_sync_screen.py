"""The supervisor's screens: on the sync screen an edit saved offline that met a newer version
at the CRM is listed with the CRM's reason, compared with that version and compensated with a
new op, which the CRM applies; the devices screen shows each reader's state and last event."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from tests.support.crm_server import RunningCrm
from tests.support.till_db import queue_visits
from tests.support.tui import SIZE, SUPERVISOR, TuiTill, text_of, until
from tests.support.world import SUPERVISOR_PIN, World
from tests.tui.cashier import logged_in, new_customer, offline_app, scan_to_profile
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input

from tillcrm.api import Op, OpType
from tillcrm.app import TillApp
from tillcrm.devices.events import DeviceStatus, Identified, LinkState, Rejected
from tillcrm.domain import IdentifierKind
from tillcrm.local import OpState, Outbox
from tillcrm.screens.confirm import ConfirmScreen
from tillcrm.screens.customer_form import ConflictScreen, CustomerFormScreen
from tillcrm.screens.devices import DeviceBoard, DevicesScreen
from tillcrm.screens.sync import SyncScreen
from tillcrm.sync import SyncEngine
from tillcrm.widgets.status_bar import StatusBar


async def _supervisor_sees(pilot: Pilot[None], app: TillApp, on_bar: str) -> Screen[None]:
    """A supervisor logged in sees `on_bar` in the status bar and opens the sync screen."""
    await logged_in(pilot, SUPERVISOR, SUPERVISOR_PIN)
    bar = app.screen.query_one(StatusBar)
    await until(pilot, lambda: on_bar in text_of(bar, "#sync"), f"{on_bar!r} on the bar")
    await pilot.press("ctrl+y")
    await until(pilot, lambda: isinstance(app.screen, SyncScreen), "the sync screen")
    return app.screen


async def test_a_rejected_edit_is_shown_with_the_crms_reason_and_compensated(
    till: TuiTill, loopback_world: World, loopback_crm: RunningCrm
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Dee", last_name="Before")
    live = SyncEngine(till.db, till.client, till.settings.sync)
    async with offline_app(till) as app:
        with loopback_world.client("brand.a") as http:
            http.patch(
                f"/customers/{customer_id}",
                json={"base_version": 1, "changes": {"last_name": "Theirs"}},
                headers={"X-Operator-Id": "brand-super"},
            ).raise_for_status()
        async with app.run_test(size=SIZE) as pilot:
            await logged_in(pilot)
            await scan_to_profile(pilot, till, customer_id, barcode)
            await pilot.press("f3")
            await until(pilot, lambda: isinstance(app.screen, CustomerFormScreen), "the form")
            form = app.screen
            form.query_one("#f-last_name", Input).value = "Mine"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Saved" in text_of(form, "#form-result"), "saved")
            assert text_of(form, "#form-result") == "Saved, queued until the CRM is back"

            await live.sync_once()
            [dead] = app.till.dead_letters()
            assert "version" in dead.last_error

            await pilot.press("ctrl+o")
            await until(pilot, lambda: app.till.operator is None, "logged out")
            await logged_in(pilot, SUPERVISOR, SUPERVISOR_PIN)
            screen = SyncScreen(app.till)
            await app.push_screen(screen)
            table = screen.query_one("#sync-dead", DataTable)
            await until(pilot, lambda: table.row_count == 1, "the dead letter listed")
            row = table.get_row(str(dead.op.op_id))
            assert row[1] == "customer_update"
            assert row[-1] == dead.last_error

            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "both versions")
            both = app.screen.query_one("#conflict-table", DataTable)
            assert both.get_row("last_name") == ["last_name", "Mine", "Theirs"]
            await pilot.press("m")
            await until(pilot, lambda: "Compensated" in text_of(screen, "#sync-result"), "done")
            assert table.row_count == 0
            assert app.till.dead_letters() == []

    await live.sync_once()
    with loopback_world.client("brand.a") as http:
        now = http.get(f"/customers/{customer_id}").json()
    assert now["profile"]["last_name"] == "Mine"
    assert now["version"] == 3


async def test_the_devices_screen_shows_each_readers_state_and_last_event(till: TuiTill) -> None:
    board = DeviceBoard(till.settings.devices)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        screen = DevicesScreen(board)
        await app.push_screen(screen)
        table = screen.query_one("#devices-table", DataTable)
        assert table.get_row("barcode")[2:4] == ["disconnected", "-"]
        board.record(DeviceStatus("barcode", LinkState.CONNECTED))
        board.record(Identified(IdentifierKind.BARCODE, "4006381333931", "barcode"))
        board.record(DeviceStatus("magstripe", LinkState.RECONNECTING, "unplugged"))
        board.record(Rejected("payment_card", "magstripe", masked="411111******1111"))
        screen.refresh_board()
        assert table.get_row("barcode")[2:4] == ["connected", "barcode *********3931"]
        assert table.get_row("magstripe")[2:4] == [
            "reconnecting (unplugged)",
            "rejected: payment card 411111******1111",
        ]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen, "back")


@pytest.mark.every_crm_database
async def test_an_op_needing_attention_is_listed_and_a_supervisor_retries_it(
    till: TuiTill, loopback_world: World
) -> None:
    """The op the CRM kept failing heads the queue list with the CRM's error, the status bar
    says the queue is held, and Retry now (F5) sends it and the queue behind it."""
    customer_id, _ = new_customer(loopback_world, first_name="Held")
    outbox = Outbox(till.db)
    queue_visits(till.db, customer_id, 2, operator="brand-cashier")
    batch = outbox.next_batch(1, now=time.time())
    assert batch is not None
    outbox.hold(batch.ops[0].seq or 0, "HTTP 500: internal error")
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _supervisor_sees(pilot, app, "needs attention")
        table = screen.query_one("#sync-queue", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the queue listed")
        assert table.get_row_at(0)[0] == "1"
        assert table.get_row_at(0)[-1] == "HTTP 500: internal error"

        await pilot.press("f5")
        await until(pilot, lambda: "Retried 1 op(s)" in text_of(screen, "#sync-result"), "retried")
        assert outbox.depth() == 0
        assert outbox.count(OpState.ACKED) == 2


async def test_a_queue_the_crm_stopped_taking_is_shown_and_a_supervisor_renumbers_it(
    till: TuiTill, loopback_world: World
) -> None:
    """The CRM holds seq 1 for an op this till's database lacks (as after a restore from an
    old copy): the status bar and the sync screen say the queue is stopped and how to fix
    it, and the supervisor's Renumber (R, then yes) sends it."""
    customer_id, _ = new_customer(loopback_world, first_name="Restored")
    lost = Op(
        op_id=uuid4(),
        seq=1,
        type=OpType.VISIT,
        entity_id=customer_id,
        payload={},
        local_ts=datetime.now(UTC),
        operator_id="brand-cashier",
    )
    await till.client.push([lost])
    queue_visits(till.db, customer_id, 1, operator="brand-cashier")
    await SyncEngine(till.db, till.client, till.settings.sync).push_once()
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _supervisor_sees(pilot, app, "stopped taking")
        assert "renumbers the unsent ops" in text_of(screen, "#sync-result")

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked first")
        seqs = till.db.read("SELECT op_id, seq FROM outbox ORDER BY seq")
        assert app.sync is not None
        async with app.sync.between_rounds():  # a push in flight with the old seqs
            await pilot.press("y")
            await pilot.pause(0.3)
            assert till.db.read("SELECT op_id, seq FROM outbox ORDER BY seq") == seqs
        await until(pilot, lambda: "Renumbered 1" in text_of(screen, "#sync-result"), "renumbered")
        assert text_of(screen, "#sync-result") == "Renumbered 1 op(s). Synced."
        assert Outbox(till.db).depth() == 0
