"""Snapshots of the login, identify and profile screens at 100x30.

The content is deterministic: fixed customers (number, name, contact, card), the readers
connected, the CRM online and an empty queue; nothing on these screens shows a clock or a
generated id. `snap_compare` runs
the app in its own event loop, so this module builds its till without the async fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.crm_server import RunningCrm
from tests.support.customers import put_customer
from tests.support.tui import log_in, until
from tests.support.world import World
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tillcrm.app import TillApp
from tillcrm.cli.run import create_app
from tillcrm.config import DeviceKind, Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain import IdentifierKind
from tillcrm.local import open_database
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile import ProfileScreen
from tillcrm.sync import SyncEngine
from tillcrm.widgets.status_bar import StatusBar

SIZE = (100, 30)
ADA_CARD = "4006381333931"


@pytest.fixture(scope="module")
def customers(loopback_world: World) -> None:
    put_customer(
        loopback_world,
        "brand",
        customer_number="C-2001",
        first_name="Ada",
        last_name="Lovelace",
        mobile="+14155550123",
        cards={IdentifierKind.BARCODE: ADA_CARD},
    )
    put_customer(
        loopback_world,
        "brand",
        customer_number="C-2002",
        first_name="Adam",
        last_name="Smith",
        email="adam@example.com",
    )


@pytest.fixture
def app(
    tmp_path: Path,
    loopback_crm: RunningCrm,
    loopback_world: World,
    customers: None,
    readers: dict[DeviceKind, SimulatedReader],
) -> Iterator[TillApp]:
    """The brand-a till, synced once, built for a run in `snap_compare`'s own event loop."""
    settings = Settings(
        data_dir=tmp_path,
        sync=SyncSettings(interval_seconds=0.2),
        devices=[reader.settings() for reader in readers.values()],
    )
    token = loopback_world.tokens["brand.a"]
    db = open_database(tmp_path / "till.sqlite3")

    async def prepare() -> Any:
        async with CrmClient(loopback_crm.url, token=token) as client:
            await SyncEngine(db, client, settings.sync).pull_once()
            return await client.me()

    context = asyncio.run(prepare())
    yield create_app(settings, db, context, CrmClient(loopback_crm.url, token=token))
    db.close()


async def _settled(pilot: Pilot[Any]) -> None:
    """Online, an empty queue and three readers connected, as the status bar shows them."""
    app = pilot.app
    assert isinstance(app, TillApp)

    def steady() -> bool:
        bar = app.screen.query_one(StatusBar)
        sync = bar.sync
        return sync is not None and sync.online and sync.queue_depth == 0 and len(bar.devices) == 3

    await until(pilot, steady, "online, with the readers connected")
    await pilot.pause()


def test_login_screen(app: TillApp, snap_compare: Any) -> None:
    async def settled_without_blinking(pilot: Pilot[Any]) -> None:
        await _settled(pilot)
        pilot.app.screen.query_one("#code", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=settled_without_blinking)


def test_identify_screen_with_results(app: TillApp, snap_compare: Any) -> None:
    async def search(pilot: Pilot[Any]) -> None:
        await log_in(pilot)
        await until(pilot, lambda: isinstance(pilot.app.screen, IdentifyScreen), "identify")
        pilot.app.screen.query_one("#query", Input).value = "ada"
        await until(pilot, lambda: len(pilot.app.screen.results) == 2, "two results")
        await pilot.press("down")  # into the grid: no blinking cursor in the snapshot
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=search)


def test_profile_screen(
    app: TillApp, readers: dict[DeviceKind, SimulatedReader], snap_compare: Any
) -> None:
    async def scan(pilot: Pilot[Any]) -> None:
        await log_in(pilot)
        await until(pilot, lambda: isinstance(pilot.app.screen, IdentifyScreen), "identify")
        await until(pilot, lambda: len(pilot.app.device_states) == 3, "readers connected")
        readers[DeviceKind.BARCODE].scan(ADA_CARD)
        await until(pilot, lambda: isinstance(pilot.app.screen, ProfileScreen), "the profile")
        activity = pilot.app.screen.query_one("#info-activity", Static)
        await until(pilot, lambda: str(activity.content).startswith("Transactions"), "activity")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=scan)
