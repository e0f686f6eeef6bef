"""Text no database can store, typed (or pasted, or scanned by a wedge) into the real forms: a
NUL or a lone surrogate is refused with a clear message where it was typed, the form stays
open, and nothing reaches the outbox; a code or PIN holding one never crashes the login."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.tui import CASHIER, SIZE, SUPERVISOR, TuiTill, text_of, until
from tests.support.world import SUPERVISOR_PIN, World
from tests.tui.cashier import logged_in, new_customer, scan_to_profile, show_tab
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, Input

from tillcrm.screens.customer_form import CustomerFormScreen
from tillcrm.screens.login import LoginScreen
from tillcrm.screens.override import OverrideScreen
from tillcrm.screens.profile import ProfileScreen
from tillcrm.screens.profile.authorized import AuthorizedUserForm
from tillcrm.screens.sale import SaleScreen

NUL_REFUSED = "A NUL character cannot be saved; retype the text."
NUL_IN_REASON = "reason: a NUL character cannot be saved; retype the text"
SURROGATE_REFUSED = "A broken character (a lone surrogate) cannot be saved; retype the text."


def _ops(till: TuiTill, op_type: str) -> int:
    return int(till.db.read("SELECT count(*) FROM outbox WHERE type = ?", (op_type,))[0][0])


async def _sale_panel(pilot: Pilot[Any], till: TuiTill, world: World, name: str) -> Screen[Any]:
    """The cashier logged in, a new customer's profile scanned and the sale panel open (F2)."""
    customer_id, barcode = new_customer(
        world, first_name=name, transaction_limit=1000, store_credit_limit=50_000
    )
    await logged_in(pilot)
    await scan_to_profile(pilot, till, customer_id, barcode)
    await pilot.press("f2")
    await until(pilot, lambda: isinstance(pilot.app.screen, SaleScreen), "sale panel")
    return pilot.app.screen


async def _profile_tab(
    pilot: Pilot[Any], till: TuiTill, world: World, name: str, pane: str
) -> ProfileScreen:
    """The cashier logged in, a new customer's profile scanned and its `pane` tab showing."""
    customer_id, barcode = new_customer(world, first_name=name)
    await logged_in(pilot)
    profile = await scan_to_profile(pilot, till, customer_id, barcode)
    await show_tab(pilot, profile, pane)
    return profile


async def test_a_nul_in_a_new_customers_name_is_refused_under_the_field(till: TuiTill) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, CustomerFormScreen), "the form")
        form = app.screen
        form.query_one("#f-first_name", Input).value = "Nu\x00l"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Not saved" in text_of(form, "#form-result"), "refusal")
        assert text_of(form, "#e-first_name") == NUL_REFUSED
        assert app.screen is form
    assert _ops(till, "customer_create") == 0


async def test_a_lone_surrogate_in_a_sale_item_is_refused_on_the_sale_panel(
    till: TuiTill, loopback_world: World
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        sale = await _sale_panel(pilot, till, loopback_world, "Sur")
        sale.query_one("#sale-item", Input).value = "Pretzel \ud83d"
        sale.query_one("#sale-amount", Input).value = "2.50"
        await pilot.press("f10")
        await until(pilot, lambda: text_of(sale, "#sale-error") != "", "the refusal")
        assert text_of(sale, "#sale-error") == f"Item: {SURROGATE_REFUSED}"
        assert app.screen is sale
    assert _ops(till, "sale") == 0


async def test_a_nul_in_an_override_reason_is_refused_in_the_dialog(
    till: TuiTill, loopback_world: World
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        sale = await _sale_panel(pilot, till, loopback_world, "Rea")
        sale.query_one("#sale-amount", Input).value = "25.00"
        sale.query_one("#sale-store-credit", Input).value = "20.00"
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "override dialog")
        dialog = app.screen
        dialog.query_one("#code", Input).value = SUPERVISOR
        dialog.query_one("#pin", Input).value = SUPERVISOR_PIN
        dialog.query_one("#reason", Input).value = "regular\x00"
        await pilot.click("#approve")
        await until(pilot, lambda: text_of(dialog, "#refusal") != "", "the refusal", limit=1500)
        assert text_of(dialog, "#refusal") == NUL_IN_REASON
        assert app.screen is dialog
    assert _ops(till, "sale") == 0


@pytest.mark.parametrize("pin", ["11\x001111", "11\udc801111"], ids=["nul", "surrogate"])
async def test_a_pin_no_keypad_gives_is_refused_and_the_login_stays_usable(
    till: TuiTill, pin: str
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        login = app.screen
        assert isinstance(login, LoginScreen)
        login.query_one("#code", Input).value = CASHIER
        login.query_one("#pin", Input).value = pin
        login.query_one("#pin", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: "retype" in text_of(login, "#login-message"), "the refusal")
        assert text_of(login, "#login-message") == (
            "The code, PIN or badge holds a character no card or keypad gives; retype it."
        )
        await logged_in(pilot)  # the right PIN still works: nothing was counted or crashed


async def test_a_lone_surrogate_in_an_authorized_users_name_is_refused_in_the_form(
    till: TuiTill, loopback_world: World
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        profile = await _profile_tab(pilot, till, loopback_world, "Aut", "authorized")
        profile.query_one("#users-table", DataTable).focus()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AuthorizedUserForm), "the user form")
        form = app.screen
        form.query_one("#user-first", Input).value = "P\udfffat"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: text_of(form, "#user-error") != "", "the refusal")
        assert text_of(form, "#user-error") == SURROGATE_REFUSED
        assert app.screen is form
    assert _ops(till, "authorized_user_add") == 0


@pytest.mark.parametrize(
    ("points", "reason", "refusal"),
    [
        ("20", "coffee\x00", NUL_IN_REASON),
        ("9" * 20, "coffee", "points: the number is too large to be saved"),
    ],
    ids=["nul-reason", "points-past-64-bits"],
)
async def test_a_redemption_that_cannot_be_saved_is_declined_on_the_loyalty_tab(
    till: TuiTill, loopback_world: World, points: str, reason: str, refusal: str
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        profile = await _profile_tab(pilot, till, loopback_world, "Loy", "loyalty")
        profile.query_one("#redeem-points", Input).value = points
        field = profile.query_one("#redeem-reason", Input)
        field.value = reason
        field.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "Declined" in text_of(profile, "#loyalty-notice"), "declined")
        assert text_of(profile, "#loyalty-notice") == f"Declined: {refusal}"
    assert _ops(till, "points_redeem") == 0
