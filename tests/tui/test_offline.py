"""Honest about being offline: the CRM stops, the status bar says so, and the till goes on
(logging in from the cached operators, identifying from the cache)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from tests.support.crm_server import fresh_database, serve_crm
from tests.support.customers import put_customer
from tests.support.tui import SIZE, log_in, until
from tests.support.world import build_world
from textual.widgets import Label, Static

from tillcrm.app import TillApp
from tillcrm.cli.run import create_app
from tillcrm.config import DeviceKind, Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain import IdentifierKind
from tillcrm.local import open_database
from tillcrm.screens.confirm import ConfirmScreen
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.login import LoginScreen
from tillcrm.screens.profile.screen import ProfileScreen
from tillcrm.widgets.status_bar import StatusBar

CARD = "4006381333931"


def _sync_text(app: TillApp) -> str:
    return str(app.screen.query_one(StatusBar).query_one("#sync", Static).content)


async def test_the_status_bar_goes_offline_when_the_crm_stops_and_the_till_goes_on(
    tmp_path: Path,
) -> None:
    with ExitStack() as crm_running:
        db_url = crm_running.enter_context(fresh_database("sqlite", tmp_path))
        crm = crm_running.enter_context(serve_crm(db_url))
        world = build_world(crm)
        put_customer(world, "brand", first_name="Ada", cards={IdentifierKind.BARCODE: CARD})
        with SimulatedReader.open(DeviceKind.BARCODE, directory=tmp_path) as scanner:
            settings = Settings(
                data_dir=tmp_path,
                sync=SyncSettings(interval_seconds=0.2),
                devices=[scanner.settings()],
            )
            async with CrmClient(crm.url, token=world.tokens["brand.a"]) as client:
                context = await client.me()
                db = open_database(tmp_path / "till.sqlite3")
                app = create_app(settings, db, context, client)
                async with app.run_test(size=SIZE) as pilot:
                    await log_in(pilot)
                    await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "login")
                    await until(pilot, lambda: _sync_text(app) == "online · 0 queued", "online")
                    bar = app.screen.query_one(StatusBar)
                    assert not bar.has_class("offline")
                    assert bar.devices == {"barcode": "connected"}

                    crm_running.close()

                    await until(pilot, lambda: _sync_text(app).startswith("OFFLINE"), "offline")
                    assert bar.has_class("offline")
                    # The cache was pulled while online: a scan still finds Ada, and the
                    # visit waits in the queue.
                    scanner.scan(CARD)
                    await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "profile")
                    await pilot.press("escape")
                    await until(pilot, lambda: "1 queued" in _sync_text(app), "queued visit")
                    # Why it waits stays on the bar until the op goes, with the op's age.
                    await until(pilot, lambda: "not sending: op 1" in _sync_text(app), "why")
                    assert "1 queued, oldest 0 min" in _sync_text(app)
                    assert "cannot reach the CRM" in _sync_text(app)
                    # Closing the shift with an op unsent asks first; No keeps the shift.
                    await pilot.press("ctrl+o")
                    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "warning")
                    question = str(app.screen.query_one("#question", Label).content)
                    assert question.startswith("1 op(s) have not reached the CRM yet.")
                    await pilot.press("n")
                    await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "kept")
                    assert app.till.operator is not None
                    # The cached operators let the next cashier in.
                    await pilot.press("ctrl+o")
                    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "warning")
                    await pilot.press("y")
                    await until(pilot, lambda: isinstance(app.screen, LoginScreen), "logout")
                    await pilot.press("ctrl+q")  # quitting warns too
                    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "quit?")
                    await pilot.press("n")
                    await until(pilot, lambda: isinstance(app.screen, LoginScreen), "not quit")
                    await log_in(pilot)
                    await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "relogin")
                db.close()
