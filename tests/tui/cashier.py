"""What the profile, sale, form and sync tests do first: enroll a till of their own, log a
cashier in and bring a customer's profile up the way a till does, by scanning their card on the
simulated reader.

Each test enrolls a new till: the CRM numbers every till's ops, so a fresh database pushing
as an already-used till would have its ops answered as duplicates of another test's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from tests.support.crm_server import RunningCrm, free_port
from tests.support.customers import put_customer
from tests.support.tui import SIZE, TuiTill, log_in, until
from tests.support.world import World
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from tillcrm.app import TillApp
from tillcrm.cli.demo import DemoCrm, demo_cards
from tillcrm.cli.run import create_app
from tillcrm.config import DeviceKind, PrinterKind, PrinterSettings, Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain import IdentifierKind
from tillcrm.local import open_database
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile import ProfileScreen
from tillcrm.server import admin, demo_data
from tillcrm.server.db import writing
from tillcrm.server.demo_data import DemoStore
from tillcrm.sync import SyncEngine
from tillcrm.till import TillService


@asynccontextmanager
async def enrolled_till(
    tmp_path: Path,
    crm: RunningCrm,
    readers: Mapping[DeviceKind, SimulatedReader],
    *,
    store: str = "brand-a-store",
) -> AsyncIterator[TuiTill]:
    """A new till at `store` (the brand-scoped organization's brand-a store), synced once."""
    with writing(crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, store)
    with crm.client() as http:
        response = http.post("/tills/enroll", json={"code": code, "name": "G2 till"})
        response.raise_for_status()
    settings = Settings(
        data_dir=tmp_path,
        sync=SyncSettings(interval_seconds=0.2),
        devices=[reader.settings() for reader in readers.values()],
    )
    client = CrmClient(crm.url, token=response.json()["token"], connect_timeout=2)
    context = await client.me()
    db = open_database(tmp_path / "till.sqlite3")
    await SyncEngine(db, client, settings.sync).sync_once()
    try:
        yield TuiTill(settings, db, context, client, dict(readers))
    finally:
        await client.aclose()
        db.close()


@asynccontextmanager
async def offline_app(till: TuiTill) -> AsyncIterator[TillApp]:
    """The till's app with the CRM out of reach, after the till synced and its operators were
    cached while the CRM was still up (as a till that went offline mid-shift)."""
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()
    online = TillService(till.db, till.context, till.settings, till.client)
    assert await online.refresh_operators()
    async with CrmClient(f"http://127.0.0.1:{free_port()}", token="-", connect_timeout=1) as down:
        yield create_app(till.settings, till.db, till.context, down)


def with_printer(till: TuiTill, printer: PrinterSettings | Path) -> TuiTill:
    """The till with a receipt printer configured: `printer`'s `[printer]` section, or a file
    printer writing to that path (as the demo's)."""
    if isinstance(printer, Path):
        printer = PrinterSettings(kind=PrinterKind.FILE, device=str(printer))
    return replace(till, settings=till.settings.model_copy(update={"printer": printer}))


def new_customer(world: World, **fields: Any) -> tuple[UUID, str]:
    """A brand-a customer of the brand-scoped organization with a fresh barcode card."""
    barcode = f"G2{uuid4().hex[:10].upper()}"
    customer_id = put_customer(world, "brand", cards={IdentifierKind.BARCODE: barcode}, **fields)
    return customer_id, barcode


async def logged_in(pilot: Pilot[Any], code: str | None = None, pin: str | None = None) -> None:
    """Log in (the cashier by default) and wait for the identify screen."""
    kwargs = {k: v for k, v in (("code", code), ("pin", pin)) if v is not None}
    await log_in(pilot, **kwargs)
    await until(pilot, lambda: isinstance(pilot.app.screen, IdentifyScreen), "identify screen")


async def scan_to_profile(
    pilot: Pilot[Any], till: TuiTill, customer_id: UUID, barcode: str
) -> ProfileScreen:
    """Scan the customer's card and wait for their profile."""
    app = pilot.app
    await until(pilot, lambda: len(app.device_states) == len(till.readers), "readers connected")
    till.readers[DeviceKind.BARCODE].scan(barcode)

    def shown() -> bool:
        screen = app.screen
        return (
            isinstance(screen, ProfileScreen)
            and screen.customer is not None
            and screen.customer.id == customer_id
        )

    await until(pilot, shown, "the customer's profile")
    screen = app.screen
    assert isinstance(screen, ProfileScreen)
    return screen


async def show_tab(pilot: Pilot[Any], profile: ProfileScreen, pane: str) -> None:
    """Step right with Ctrl+Right until the profile's `pane` tab is showing."""
    tabs = profile.query_one(TabbedContent)
    for _ in range(7):
        if tabs.active == f"pane-{pane}":
            return
        await pilot.press("ctrl+right")
    assert tabs.active == f"pane-{pane}"


@asynccontextmanager
async def demo_till(
    crm: DemoCrm,
    store: DemoStore,
    folder: Path,
    readers: dict[DeviceKind, SimulatedReader],
    **run: Any,
) -> AsyncIterator[tuple[TillApp, Pilot[Any], CrmClient]]:
    """A till enrolled at `store` as the demo enrolls it, with the store's card keys, run
    under Pilot (`run`: more of `run_test`'s arguments) and logged in as the demo cashier;
    also the till's own client of the CRM."""
    async with CrmClient(crm.url) as anonymous:
        enrolled = await anonymous.enroll(crm.enrollment_code(store.id), "Demo till")
    settings = Settings(
        data_dir=folder / store.id,
        sync=SyncSettings(interval_seconds=0.2),
        devices=[reader.settings() for reader in readers.values()],
    )
    async with CrmClient(crm.url, token=enrolled.token) as client:
        db = open_database(folder / f"{store.id}.sqlite3")
        try:
            cards = demo_cards(readers, store)
            app = create_app(settings, db, enrolled.context, client, cards=cards)
            async with app.run_test(size=SIZE, **run) as pilot:
                await log_in(pilot, demo_data.CASHIER_CODE, demo_data.CASHIER_PIN)
                await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "login")
                await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
                yield app, pilot, client
        finally:
            db.close()
