"""The demo as a person meets it at each demo store: the store picker, each store's card keys
presenting its own customers with every profile tab filled in, and a suite removed from a
customer with a confirmation, through the outbox to the CRM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from tests.support.tui import SIZE, until
from tests.tui.cashier import demo_till
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent

from tillcrm.api import CustomerOut
from tillcrm.app import TillApp
from tillcrm.cli.crm import KNOWN_DEMO_CUSTOMERS
from tillcrm.cli.demo import DemoCrm, demo_crm, demo_store, store_choices
from tillcrm.config import DeviceKind
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.screens.confirm import ConfirmScreen
from tillcrm.screens.override import OverrideScreen
from tillcrm.screens.profile.screen import ProfileScreen
from tillcrm.screens.sale import SaleScreen
from tillcrm.screens.store_picker import StorePicker
from tillcrm.server import demo_data
from tillcrm.server.demo_data import DemoCustomer, DemoStore


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCrm]:
    """One demo CRM for the module, as `tillcrm demo` starts it (its well-known customers)."""
    path = tmp_path_factory.mktemp("demo-crm") / "crm.sqlite3"
    with demo_crm(path, KNOWN_DEMO_CUSTOMERS) as running:
        yield running


def _shown(app: TillApp) -> CustomerOut | None:
    screen = app.screen
    return screen.customer if isinstance(screen, ProfileScreen) else None


async def _present(pilot: Pilot[Any], key: str, customer: DemoCustomer) -> CustomerOut:
    """Press a card key from the home screen and wait for that customer's profile."""
    app = pilot.app
    assert isinstance(app, TillApp)
    await pilot.press("escape", key)

    def shown() -> bool:
        record = _shown(app)
        return record is not None and record.id == customer.id

    await until(pilot, shown, f"{customer.first_name}'s profile by {key}")
    record = _shown(app)
    assert record is not None
    return record


async def _show_tab(pilot: Pilot[Any], pane: str) -> None:
    screen = pilot.app.screen
    screen.query_one(TabbedContent).active = f"pane-{pane}"
    await until(pilot, lambda: screen.query_one(TabbedContent).active == f"pane-{pane}", pane)


async def _rows_on(pilot: Pilot[Any], pane: str, table_id: str) -> DataTable[Any]:
    """Open a profile tab and wait until its grid has rows."""
    await _show_tab(pilot, pane)
    table: DataTable[Any] = pilot.app.screen.query_one(f"#{table_id}", DataTable)
    await until(pilot, lambda: table.row_count > 0, f"rows on the {pane} tab")
    return table


async def test_the_picker_lists_the_stores_and_the_chosen_one_is_the_till(
    tmp_path: Path, crm: DemoCrm, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    picker = StorePicker(store_choices())
    async with picker.run_test(size=SIZE) as pilot:
        options = picker.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert len(prompts) == len(demo_data.DEMO_STORES)
        for prompt, store in zip(prompts, demo_data.DEMO_STORES, strict=True):
            assert store.name in prompt
            assert store.framework in prompt
        options.focus()
        await pilot.press("down", "down", "enter")
    chosen = demo_data.DEMO_STORES[2]
    assert picker.return_value == chosen.id
    store = demo_store(chosen.id)
    async with demo_till(crm, store, tmp_path, readers) as (app, pilot, _):
        assert app.till.context.store.id == chosen.id
        assert app.till.context.store.name == chosen.name
        record = await _present(pilot, "f5", store.customer)
        assert record.profile.first_name == store.customer.first_name


@pytest.mark.parametrize("store", demo_data.DEMO_STORES, ids=lambda store: store.id)
async def test_each_stores_card_keys_present_its_customers_with_full_profiles(
    tmp_path: Path, crm: DemoCrm, readers: dict[DeviceKind, SimulatedReader], store: DemoStore
) -> None:
    async with demo_till(crm, store, tmp_path, readers) as (_, pilot, _):
        await _present(pilot, "f5", store.customer)
        for pane, table_id in (
            ("wallet", "wallet-table"),
            ("authorized", "users-table"),
            ("suites", "suites-table"),
            ("history", "history-table"),
        ):
            await _rows_on(pilot, pane, table_id)
        await _show_tab(pilot, "info")
        green = await _present(pilot, "f10", store.go_green)
        assert green.profile.flags.go_green
        inactive = await _present(pilot, "f11", store.inactive)
        assert not inactive.profile.flags.active


async def test_a_suite_is_removed_after_a_confirmation_and_the_crm_drops_it(
    tmp_path: Path, crm: DemoCrm, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    store = demo_store(demo_data.DEMO_STORE_ID)
    async with demo_till(crm, store, tmp_path, readers) as (app, pilot, client):
        await _present(pilot, "f5", store.customer)
        table = await _rows_on(pilot, "suites", "suites-table")
        before = table.row_count
        table.focus()
        suite = UUID(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "no")
        assert table.row_count == before
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("right", "enter")  # to Yes, as a cashier moves between buttons
        await until(pilot, lambda: table.row_count == before - 1, "the suite gone from the tab")
        for _ in range(300):
            listed = await client.suites(store.customer.id)
            groups = (listed.ongoing, listed.upcoming, listed.closed)
            if all(row.suite.id != suite for group in groups for row in group):
                break
            await pilot.pause(0.02)
        else:
            raise AssertionError("the CRM still lists the removed suite")
        assert sum(map(len, groups)) == before - 1


async def test_the_supervisor_badge_key_approves_in_the_override_dialog(
    tmp_path: Path, crm: DemoCrm, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    """F12 swipes the demo supervisor's badge on every screen, the override dialog
    included: that is where a supervisor's badge is wanted."""
    store = demo_store(demo_data.DEMO_STORE_ID)
    async with demo_till(crm, store, tmp_path, readers) as (app, pilot, _):
        await _present(pilot, "f5", store.customer)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, SaleScreen), "the sale panel")
        sale = app.screen
        sale.query_one("#sale-amount", Input).value = "120.00"
        sale.query_one("#sale-stored-value", Input).value = "120.00"
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "override dialog")
        app.screen.query_one("#reason", Input).value = "regular"
        await pilot.press("f12")
        await until(pilot, lambda: app.screen is sale, "back on the sale panel", limit=1500)
        result = sale.query_one("#sale-result", Static)
        await until(pilot, lambda: str(result.render()) != "", "the result", limit=1500)
        assert str(result.render()).startswith("Saved")
