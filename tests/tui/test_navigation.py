"""Getting around the till from the keyboard: home from the profile, the readers screen, the
sync screen kept for supervisors, and the command palette's actions."""

from __future__ import annotations

from typing import Any

from tests.support.customers import put_customer
from tests.support.tui import SIZE, SUPERVISOR, TuiTill, log_in, until
from tests.support.world import SUPERVISOR_PIN, World
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import DataTable

from tillcrm.config import DeviceKind
from tillcrm.domain import IdentifierKind
from tillcrm.screens.devices import DevicesScreen
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile.screen import ProfileScreen
from tillcrm.screens.sync import SyncScreen

CARD = "9780201379624"


async def _home(pilot: Any) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, IdentifyScreen), "identify screen")


async def test_escape_from_the_profile_goes_home_and_the_next_scan_comes_back(
    loopback_world: World, tui_till: TuiTill
) -> None:
    put_customer(loopback_world, "brand", first_name="Nav", cards={IdentifierKind.BARCODE: CARD})
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _home(pilot)
        await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
        for _ in range(2):
            tui_till.readers[DeviceKind.BARCODE].scan(CARD)
            await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
            await pilot.press("escape")
            await _home(pilot)
        assert app.screen_stack.count(app.profile) == 1
        assert app.screen_stack.count(app.identify) == 1


async def test_the_readers_screen_shows_each_reader(tui_till: TuiTill) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _home(pilot)
        await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, DevicesScreen), "the readers screen")
        table = app.screen.query_one("#devices-table", DataTable)
        states = {
            table.get_row_at(i)[0]: table.get_row_at(i)[2].split()[0]
            for i in range(table.row_count)
        }
        assert states == dict.fromkeys(("barcode", "magstripe", "contactless"), "connected")
        tui_till.readers[DeviceKind.CONTACTLESS].unplug()
        await until(
            pilot,
            lambda: not table.get_row_at(2)[2].startswith("connected"),
            "the unplugged reader",
        )
        await pilot.press("escape")
        await _home(pilot)


async def test_the_sync_screen_is_for_supervisors(tui_till: TuiTill) -> None:
    seen: list[Message] = []
    app = tui_till.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await log_in(pilot)
        await _home(pilot)
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any(isinstance(m, Notify) for m in seen), "a refusal")
        assert isinstance(app.screen, IdentifyScreen)
        await pilot.press("ctrl+o")
        await log_in(pilot, SUPERVISOR, SUPERVISOR_PIN)
        await _home(pilot)
        await pilot.press("ctrl+y")
        await until(pilot, lambda: isinstance(app.screen, SyncScreen), "the sync screen")


async def test_the_command_palette_offers_the_main_actions(tui_till: TuiTill) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await _home(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Home", "Log out", "Readers", "Sync queue"} <= titles


async def test_a_failed_background_task_shows_a_message_and_the_till_goes_on(
    tui_till: TuiTill,
) -> None:
    seen: list[Message] = []

    async def broken() -> None:
        raise RuntimeError("printer on fire")

    app = tui_till.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await log_in(pilot)
        await _home(pilot)
        app.run_worker(broken())
        await until(pilot, lambda: any(isinstance(m, Notify) for m in seen), "the message")
        notes = [str(m.notification.message) for m in seen if isinstance(m, Notify)]
        assert notes == ["something went wrong: printer on fire"]
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, DevicesScreen), "the till still works")
