"""A real till under Pilot: the app from `create_app` over a fresh SQLite file, the reference
CRM on loopback, and simulated readers on real pseudo-terminals.

`tui_till` pulls the brand-a till's scope and operators first, so a test starts where a till
that has synced once stands. Type into inputs by setting their value: keys pressed by Pilot
arrive faster than any person types and would be taken for a keyboard-wedge scan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.support.crm_server import RunningCrm
from tests.support.world import CASHIER_PIN, World
from textual.pilot import Pilot
from textual.widgets import Input

from tillcrm.api import TillContext
from tillcrm.app import TillApp
from tillcrm.cli.run import create_app
from tillcrm.config import DeviceKind, Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.local import TillDatabase, open_database
from tillcrm.sync import SyncEngine

SIZE = (100, 30)
CASHIER = "brand-100"
SUPERVISOR = "brand-900"


@dataclass
class TuiTill:
    """Everything `create_app` needs, and the simulated readers the till reads."""

    settings: Settings
    db: TillDatabase
    context: TillContext
    client: CrmClient
    readers: dict[DeviceKind, SimulatedReader] = field(default_factory=dict)

    def app(self, **kwargs: Any) -> TillApp:
        """The till's app, exactly as the CLI builds it."""
        return create_app(self.settings, self.db, self.context, self.client, **kwargs)


@pytest.fixture
def readers(tmp_path: Path) -> Iterator[dict[DeviceKind, SimulatedReader]]:
    """A barcode scanner, a stripe reader and a contactless reader on pseudo-terminals."""
    folder = tmp_path / "ports"
    folder.mkdir()
    opened = {kind: SimulatedReader.open(kind, directory=folder) for kind in DeviceKind}
    yield opened
    for reader in opened.values():
        reader.close()


@pytest.fixture
async def tui_till(
    tmp_path: Path,
    loopback_crm: RunningCrm,
    loopback_world: World,
    readers: dict[DeviceKind, SimulatedReader],
) -> AsyncIterator[TuiTill]:
    """The brand-a till of the brand-scoped organization, synced once, with three readers."""
    settings = Settings(
        data_dir=tmp_path,
        sync=SyncSettings(interval_seconds=0.2),
        devices=[reader.settings() for reader in readers.values()],
    )
    client = CrmClient(loopback_crm.url, token=loopback_world.tokens["brand.a"], connect_timeout=2)
    context = await client.me()
    db = open_database(tmp_path / "till.sqlite3")
    await SyncEngine(db, client, settings.sync).pull_once()
    yield TuiTill(settings, db, context, client, readers)
    await client.aclose()
    db.close()


async def until(pilot: Pilot[Any], condition: Any, what: str, *, limit: int = 300) -> None:
    """Let the app run until `condition()` holds (at most `limit` short pauses)."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def log_in(pilot: Pilot[Any], code: str = CASHIER, pin: str = CASHIER_PIN) -> None:
    """Fill the login form and press Enter in the PIN field."""
    app = pilot.app
    app.screen.query_one("#code", Input).value = code
    pin_input = app.screen.query_one("#pin", Input)
    pin_input.value = pin
    pin_input.focus()
    await pilot.press("enter")
