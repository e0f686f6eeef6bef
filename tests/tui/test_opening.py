"""The production till paints its login form before it is open: the cashier types at once,
a login waits for the till, and what stops the till from opening ends the app."""

from __future__ import annotations

import asyncio

import click
from tests.support.tui import CASHIER, SIZE, TuiTill, until
from tests.support.world import CASHIER_PIN
from textual.widgets import Input, Static

from tillcrm.app import TillApp
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.login import LoginScreen
from tillcrm.till_parts import TillParts


def _keys(text: str) -> list[str]:
    return ["minus" if char == "-" else char for char in text]


async def test_keys_typed_before_the_till_is_open_log_the_cashier_in_once_it_is(
    tui_till: TuiTill,
) -> None:
    gate = asyncio.Event()

    async def opener(app: TillApp) -> TillParts:
        await gate.wait()
        return TillParts(tui_till.settings, tui_till.db, tui_till.context, tui_till.client)

    app = TillApp(opener)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        assert not app.is_open
        place = app.screen.query_one("#place", Static)
        assert str(place.content) == "not logged in · starting…"
        await pilot.press(*_keys(CASHIER), "enter", *_keys(CASHIER_PIN), "enter")
        assert app.screen.query_one("#code", Input).value == CASHIER
        assert app.screen.query_one("#pin", Input).value == CASHIER_PIN
        await until(
            pilot,
            lambda: "Checking" in str(app.screen.query_one("#login-message", Static).content),
            "the check",
        )
        gate.set()
        await until(
            pilot,
            lambda: isinstance(app.screen, IdentifyScreen) and bool(app.screen.query("#place")),
            "identify screen, composed",
        )
        assert app.till.operator is not None
        assert app.till.operator.code == CASHIER
        place = app.screen.query_one("#place", Static)
        assert tui_till.context.till_name in str(place.content)


async def test_what_stops_the_till_from_opening_ends_the_app_and_is_kept() -> None:
    async def opener(app: TillApp) -> TillParts:
        raise click.ClickException("this till is not registered")

    app = TillApp(opener)
    await app.run_async(headless=True, size=SIZE)
    assert isinstance(app.start_error, click.ClickException)
    assert app.start_error.message == "this till is not registered"
    assert app.return_code == 1
