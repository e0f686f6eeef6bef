"""Logging in at the till: right PIN, wrong PIN with attempts left, lockout, badge swipe."""

from __future__ import annotations

from tests.support.tui import CASHIER, SIZE, TuiTill, log_in, until
from tests.support.world import CASHIER_PIN, SUPERVISOR_BADGE
from textual.widgets import Input, Static

from tillcrm.config import DeviceKind, SecuritySettings
from tillcrm.devices.wedge import WedgeDetector
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.login import LoginScreen
from tillcrm.widgets.status_bar import StatusBar


def _message(app: object) -> str:
    return str(app.screen.query_one("#login-message", Static).content)  # type: ignore[attr-defined]


async def test_the_right_pin_opens_the_identify_screen(tui_till: TuiTill) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await log_in(pilot)
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "identify screen")
        assert app.till.operator is not None
        assert app.till.operator.code == CASHIER
        place = str(app.screen.query_one(StatusBar).query_one("#place", Static).content)
        assert place.startswith("Cass Hier")


async def test_a_wrong_pin_says_how_many_attempts_are_left(tui_till: TuiTill) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, pin="0000")
        await until(pilot, lambda: "Wrong PIN" in _message(app), "wrong PIN message")
        assert _message(app) == "Wrong PIN (4 attempts left)."
        assert isinstance(app.screen, LoginScreen)
        assert app.till.operator is None


async def test_too_many_wrong_pins_lock_the_operator(tui_till: TuiTill) -> None:
    tui_till.settings.security = SecuritySettings(max_pin_attempts=2, lockout_minutes=5)
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, pin="0000")
        await until(pilot, lambda: "1 attempt left" in _message(app), "one attempt left")
        await log_in(pilot, pin="0001")
        await until(pilot, lambda: "locked" in _message(app), "lockout message")
        await log_in(pilot)
        await until(pilot, lambda: "Checking" not in _message(app), "the check")
        assert "Operator locked after too many wrong PINs; try again at" in _message(app)
        assert isinstance(app.screen, LoginScreen)


async def test_a_badge_swipe_logs_the_supervisor_in(tui_till: TuiTill) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
        tui_till.readers[DeviceKind.MAGSTRIPE].swipe(track1=f"A{SUPERVISOR_BADGE}")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "identify screen")
        assert app.till.operator is not None
        assert app.till.operator.name == "Sue Pervisor"


def _patient_detector() -> WedgeDetector:
    """Takes keys up to half a second apart as one burst: Pilot's keys always are one, even on
    a loaded machine, as a fast cashier's or a scanner's are on a real terminal."""
    return WedgeDetector(max_gap=0.5)


async def test_a_pin_typed_as_fast_as_a_scanner_still_logs_in(tui_till: TuiTill) -> None:
    app = tui_till.app(detector=_patient_detector())
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#code", Input).value = CASHIER
        app.screen.query_one("#pin", Input).focus()
        await pilot.press(*CASHIER_PIN, "enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "identify screen")
        assert app.till.operator is not None
        assert app.till.operator.code == CASHIER


async def test_a_wedge_badge_swiped_in_the_pin_field_is_still_a_badge(tui_till: TuiTill) -> None:
    app = tui_till.app(detector=_patient_detector())
    async with app.run_test(size=SIZE) as pilot:
        pin = app.screen.query_one("#pin", Input)
        pin.focus()
        await pilot.press(*f"%A{SUPERVISOR_BADGE}?", "enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "identify screen")
        assert app.till.operator is not None
        assert app.till.operator.name == "Sue Pervisor"
        assert pin.value == ""
