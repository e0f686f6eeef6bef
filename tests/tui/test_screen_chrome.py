"""What every full screen shows around its body: the status bar on top, the keys that work
at the bottom (fitting 80 columns, with the profile's tab keys), and toasts that leave the
demo's card panel readable."""

from __future__ import annotations

from tests.support.tui import SIZE, SUPERVISOR, TuiTill, until
from tests.support.world import SUPERVISOR_PIN, World
from tests.tui.cashier import logged_in, new_customer, scan_to_profile
from textual.geometry import Region
from textual.widgets import Static, TabbedContent
from textual.widgets._toast import Toast

from tillcrm.cli.demo_app import CardPanel, DemoCard
from tillcrm.screens._base import TillScreen
from tillcrm.screens.customer_form import CustomerFormScreen
from tillcrm.screens.devices import DevicesScreen
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile import ProfileScreen
from tillcrm.screens.sale import SaleScreen
from tillcrm.screens.sync import SyncScreen
from tillcrm.widgets.key_bar import KeyBar
from tillcrm.widgets.status_bar import StatusBar


def _status(screen: object) -> str:
    """The status bar's first line, once checked that both its lines span the screen's top."""
    assert isinstance(screen, TillScreen)
    bar = screen.query_one(StatusBar)
    assert bar.region == Region(0, 0, screen.size.width, 2)
    assert bar.query_one("#devices", Static).region.y == 1
    return str(bar.query_one("#place", Static).content)


async def test_every_full_screen_has_the_status_bar(till: TuiTill, loopback_world: World) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Stat", last_name="Us")
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot, SUPERVISOR, SUPERVISOR_PIN)
        await scan_to_profile(pilot, till, customer_id, barcode)
        assert _status(app.screen).startswith("Sue Pervisor · ")
        for key, screen_type in (
            ("f2", SaleScreen),
            ("f3", CustomerFormScreen),
            ("ctrl+y", SyncScreen),
            ("ctrl+r", DevicesScreen),
        ):
            await pilot.press(key)
            await until(pilot, lambda kind=screen_type: isinstance(app.screen, kind), key)
            assert _status(app.screen).startswith("Sue Pervisor · "), screen_type.__name__
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "back")


async def test_the_profile_keys_fit_80_columns_and_say_how_to_switch_tabs(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Key", last_name="Bar")
    app = till.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        bar = profile.query_one(KeyBar)
        await until(pilot, lambda: bool(bar.shown), "the keys")
        text = str(bar.render())
        assert len(text) <= 78
        shown = [f"{key.key} {key.description}" for key in bar.shown]
        assert text == "  ".join(shown)
        assert shown[:4] == ["f2 Sale", "f3 Edit", "^←/→ Tab", "f4 Refresh"]
        assert {"^q Quit", "esc Home"} <= set(shown)
        await pilot.press("ctrl+right")
        assert profile.query_one(TabbedContent).active == "pane-history"


async def test_toasts_leave_the_card_panel_readable(tui_till: TuiTill) -> None:
    cards = [DemoCard(key, f"card {key}", lambda: None) for key in ("f5", "f6", "f7", "f8")]
    app = tui_till.app(cards=cards, note="Demo: cashier 100 / PIN 111111.")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await logged_in(pilot)
        assert isinstance(app.screen, IdentifyScreen)
        app.notify("a note for the cashier")
        await until(pilot, lambda: bool(app.screen.query(Toast)), "the toast")
        await pilot.pause()
        toast = app.screen.query_one(Toast).region
        panel = app.screen.query_one(CardPanel).region
        assert toast.height > 0
        assert not toast.overlaps(panel), (toast, panel)
        assert not toast.overlaps(app.screen.query_one(KeyBar).region)
