"""A real till under Pilot: the app from `create_app` over a fresh SQLite file, the reference
CRM on loopback, and simulated readers on real pseudo-terminals (`tests.support.tui` holds the
helpers that drive it).

`tui_till` pulls the brand-a till's scope and operators first, so a test starts where a till
that has synced once stands. `till` is a till enrolled for the test alone, for tests whose ops
the CRM must not take for another till's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.support.crm_server import RunningCrm
from tests.support.tui import TuiTill
from tests.support.world import World
from tests.tui.cashier import enrolled_till

from tillcrm.config import DeviceKind, Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.local import open_database
from tillcrm.sync import SyncEngine


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


@pytest.fixture
async def till(
    tmp_path: Path,
    loopback_world: World,
    readers: dict[DeviceKind, SimulatedReader],
) -> AsyncIterator[TuiTill]:
    """A till of this test's own, with three simulated readers."""
    async with enrolled_till(tmp_path, loopback_world.crm, readers) as enrolled:
        yield enrolled
