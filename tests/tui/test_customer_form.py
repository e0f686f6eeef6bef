"""The customer form driven as a cashier: a bad phone is marked under the field and nothing
is saved; corrected, the customer is saved with a normalized phone and a generated number
left to the CRM; an edit that meets a newer version shows both versions."""

from __future__ import annotations

import json

from tests.support.tui import SIZE, TuiTill, text_of, until
from tests.support.world import World
from tests.tui.cashier import logged_in, new_customer, scan_to_profile
from textual.widgets import Checkbox, DataTable, Input, Static

from tillcrm.screens.customer_form import ConflictScreen, CustomerFormScreen
from tillcrm.screens.profile import ProfileScreen


def _ops(till: TuiTill, op_type: str) -> list[dict[str, object]]:
    rows = till.db.read("SELECT payload FROM outbox WHERE type = ?", (op_type,))
    return [json.loads(row[0]) for row in rows]


async def test_a_bad_phone_is_marked_inline_and_nothing_is_saved_until_it_is_fixed(
    till: TuiTill,
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, CustomerFormScreen), "the form")
        form = app.screen
        form.query_one("#f-first_name", Input).value = "Nova"
        form.query_one("#f-last_name", Input).value = "Kunde"
        form.query_one("#f-mobile", Input).value = "12"
        form.query_one("#f-email", Input).value = "nova@example"
        form.query_one("#f-date_of_birth", Input).value = "1990-13-01"
        form.query_one("#f-transaction_limit", Input).value = "ten"
        form.query_one("#flag-vip", Checkbox).value = True
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Not saved" in text_of(form, "#form-result"), "refusal")
        result = form.query_one("#form-result").region
        assert result.height > 0, "the result line is on screen, not below the fold"
        assert result.bottom <= app.size.height
        assert "not a possible phone number" in text_of(form, "#e-mobile")
        assert "email" in text_of(form, "#e-email").lower()
        assert "YYYY-MM-DD" in text_of(form, "#e-date_of_birth")
        assert "not an amount" in text_of(form, "#e-transaction_limit")
        assert _ops(till, "customer_create") == []

        form.query_one("#f-mobile", Input).value = "(212) 555-0100"
        form.query_one("#f-email", Input).value = "nova@example.com"
        form.query_one("#f-date_of_birth", Input).value = "1990-12-01"
        form.query_one("#f-transaction_limit", Input).value = "150.00"
        form.query_one("#f-tags", Input).value = "VIP, regular"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: text_of(form, "#form-result") == "Saved", "saved")
        assert text_of(form, "#e-mobile") == ""
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the new profile")
        assert app.profile.customer is not None
        assert app.profile.customer.profile.first_name == "Nova"

    [created] = _ops(till, "customer_create")
    profile = created["profile"]
    assert isinstance(profile, dict)
    assert profile["mobile"] == "+12125550100"
    assert profile["customer_number"] is None
    assert profile["transaction_limit"] == 15_000
    assert profile["tags"] == ["VIP", "regular"]
    assert profile["flags"]["vip"] is True


async def test_an_edit_that_meets_a_newer_version_shows_both_versions(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Ann", last_name="Old")
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        await scan_to_profile(pilot, till, customer_id, barcode)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, CustomerFormScreen), "the form")
        form = app.screen
        assert form.query_one("#f-last_name", Input).value == "Old"

        with loopback_world.client("brand.a") as http:
            response = http.patch(
                f"/customers/{customer_id}",
                json={"base_version": 1, "changes": {"last_name": "Theirs"}},
                headers={"X-Operator-Id": "brand-super"},
            )
            response.raise_for_status()

        form.query_one("#f-last_name", Input).value = "Mine"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        table = app.screen.query_one("#conflict-table", DataTable)
        assert table.get_row("last_name") == ["last_name", "Mine", "Theirs"]
        assert "version 1 -> 2" in str(app.screen.query_one("Label", Static).content)

        await pilot.press("t")
        await until(pilot, lambda: not isinstance(app.screen, ConflictScreen), "decided")
    assert _ops(till, "customer_update") == []
