"""The identify screen as a cashier uses it: search and open, a card on a reader, a keyboard-wedge
scanner, a payment card swiped by mistake, a blocked card, and the scan from the profile."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from tests.support.customers import put_customer
from tests.support.tui import SIZE, TuiTill, until
from tests.support.world import World
from tests.tui.cashier import logged_in
from textual import events
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import Checkbox, DataTable, Input

from tillcrm.app import TillApp
from tillcrm.card_routing import PAYMENT_CARD_MESSAGE
from tillcrm.config import DeviceKind
from tillcrm.domain import IdentifierKind
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile.screen import ProfileScreen

ADA_CARD = "4006381333931"
ADA_TAG = "04AABBCCDD"
ADA_STRIPE = "7000123456789"
GRACE_CARD = "5901234123457"


@pytest.fixture(scope="module")
def people(loopback_world: World) -> dict[str, UUID]:
    """Three customers of brand a: two active with cards, one inactive."""
    return {
        "ada": put_customer(
            loopback_world,
            "brand",
            customer_number="C-1001",
            first_name="Ada",
            last_name="Lovelace",
            mobile="+14155550123",
            cards={
                IdentifierKind.BARCODE: ADA_CARD,
                IdentifierKind.RFID: ADA_TAG,
                IdentifierKind.MAGSTRIPE: ADA_STRIPE,
            },
        ),
        "grace": put_customer(
            loopback_world,
            "brand",
            customer_number="C-1002",
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            cards={IdentifierKind.BARCODE: GRACE_CARD},
        ),
        "old": put_customer(
            loopback_world,
            "brand",
            customer_number="C-1003",
            first_name="Adam",
            last_name="Oldfield",
            flags={"active": False},
        ),
    }


def _profile_of(app: TillApp) -> UUID | None:
    screen = app.screen
    if isinstance(screen, ProfileScreen) and screen.customer is not None:
        return screen.customer.id
    return None


async def _search(pilot: Any, text: str) -> None:
    app = pilot.app
    app.screen.query_one("#query", Input).value = text
    await until(pilot, lambda: app.screen.results, f"results for {text!r}")


async def test_a_name_search_fills_the_grid_and_enter_opens_the_profile(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await _search(pilot, "lovelace")
        table = app.screen.query_one("#results", DataTable)
        assert table.get_row_at(0) == ["C-1001", "Ada Lovelace", "(415) 555-0123", "0"]
        app.screen.query_one("#query", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: _profile_of(app) == people["ada"], "Ada's profile")


async def test_the_last_digits_of_a_phone_find_the_customer(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await _search(pilot, "0123")
        assert [row.id for row in app.screen.results] == [people["ada"]]


async def test_inactive_customers_show_only_when_asked(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await _search(pilot, "ada")
        assert {row.id for row in app.screen.results} == {people["ada"]}
        app.screen.query_one("#inactive", Checkbox).value = True
        await until(pilot, lambda: len(app.screen.results) == 2, "the inactive customer")
        table = app.screen.query_one("#results", DataTable)
        names = {table.get_row_at(i)[1] for i in range(table.row_count)}
        assert names == {"Ada Lovelace", "Adam Oldfield (inactive)"}
        app.screen.query_one("#results", DataTable).focus()
        await pilot.press("down", "up")
        await pilot.press("enter")
        await until(pilot, lambda: _profile_of(app) is not None, "a profile")


async def test_a_scan_on_the_reader_opens_the_profile(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
        tui_till.readers[DeviceKind.BARCODE].scan(ADA_CARD)
        await until(pilot, lambda: _profile_of(app) == people["ada"], "Ada's profile")
        # From the profile, a tap and a swipe open the next customers' profiles in place.
        tui_till.readers[DeviceKind.BARCODE].scan(GRACE_CARD)
        await until(pilot, lambda: _profile_of(app) == people["grace"], "Grace's profile")
        tui_till.readers[DeviceKind.CONTACTLESS].tap(ADA_TAG)
        await until(pilot, lambda: _profile_of(app) == people["ada"], "Ada's profile again")
        tui_till.readers[DeviceKind.MAGSTRIPE].swipe(track2=ADA_STRIPE)
        await pilot.pause(0.1)
        assert _profile_of(app) == people["ada"]
        assert app.screen_stack.count(app.profile) == 1


async def test_a_keyboard_wedge_burst_never_lands_in_the_input(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        query = app.screen.query_one("#query", Input)
        assert app.focused is query
        _type_burst(app, GRACE_CARD)
        await until(pilot, lambda: _profile_of(app) == people["grace"], "Grace's profile")
        assert query.value == ""


def _type_burst(app: TillApp, text: str) -> None:
    """Post `text` and Enter as a keyboard-wedge device types them: 4 ms a key."""
    start = events.Key("a", "a").time
    for i, char in enumerate([*text, "enter"]):
        key = events.Key(char, char if char != "enter" else "\r")
        key.time = start + i * 0.004
        app.post_message(key)


async def test_a_payment_card_on_a_keyboard_wedge_reader_is_refused_too(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    seen: list[Message] = []
    app = tui_till.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await logged_in(pilot)
        query = app.screen.query_one("#query", Input)
        _type_burst(app, "%B4111111111111111^DOE/JOHN^2512101?;4111111111111111=2512101?")
        await until(pilot, lambda: _notes(seen), "a notification")
        await pilot.pause(0.1)
        assert _notes(seen) == [PAYMENT_CARD_MESSAGE]
        assert isinstance(app.screen, IdentifyScreen)
        assert query.value == ""


async def test_slow_typing_still_reaches_the_input(tui_till: TuiTill) -> None:
    app = tui_till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        start = events.Key("a", "a").time
        for i, char in enumerate("grace"):
            key = events.Key(char, char)
            key.time = start + i * 0.2
            app.post_message(key)
        query = app.screen.query_one("#query", Input)
        await until(pilot, lambda: query.value == "grace", "the typed text")


async def test_a_payment_card_says_so_and_nothing_else(
    people: dict[str, UUID], tui_till: TuiTill
) -> None:
    seen: list[Message] = []
    app = tui_till.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await logged_in(pilot)
        await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
        tui_till.readers[DeviceKind.MAGSTRIPE].swipe(track1="B4111111111111111^DOE/JOHN^2512101")
        await until(pilot, lambda: _notes(seen), "a notification")
        await pilot.pause(0.1)
        assert _notes(seen) == [PAYMENT_CARD_MESSAGE]
        assert isinstance(app.screen, IdentifyScreen)
        assert "4111111111111111" not in repr(seen)


async def test_a_card_nobody_has_says_no_customer(tui_till: TuiTill) -> None:
    seen: list[Message] = []
    app = tui_till.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await logged_in(pilot)
        await until(pilot, lambda: len(app.device_states) == 3, "readers connected")
        tui_till.readers[DeviceKind.BARCODE].scan("0012345678905")
        await until(pilot, lambda: _notes(seen), "a notification")
        assert isinstance(app.screen, IdentifyScreen)


def _notes(seen: list[Message]) -> list[str]:
    return [str(m.notification.message) for m in seen if isinstance(m, Notify)]
