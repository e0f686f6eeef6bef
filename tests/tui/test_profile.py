"""The customer profile driven as a cashier: every tab opened from the keyboard, a receipt
reprinted on a file printer (a go-green customer's only when they ask), a stored-value
charge over the per-event limit approved by a supervisor, points redeemed, a wallet card and
an authorized user added and deleted with a confirmation, and an inactive customer who
cannot transact alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from tests.support.outbox import put_card
from tests.support.tui import SIZE, TuiTill, text_of, until
from tests.support.world import CASHIER_PIN, SUPERVISOR_BADGE, World
from tests.tui.cashier import (
    logged_in,
    new_customer,
    offline_app,
    scan_to_profile,
    show_tab,
    with_printer,
)
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TabbedContent

from tillcrm.api import SaleLineTender
from tillcrm.app import TillApp
from tillcrm.config import SyncSettings
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.screens.confirm import ConfirmScreen
from tillcrm.screens.override import OverrideScreen
from tillcrm.screens.profile.authorized import AuthorizedUserForm
from tillcrm.screens.profile.receipt import ReceiptScreen
from tillcrm.screens.profile.stored_value import StoredValueTab
from tillcrm.screens.profile.wallet import WalletCardForm
from tillcrm.server.db import writing
from tillcrm.server.tables import suites
from tillcrm.sync import SyncEngine
from tillcrm.till import Saved, TillService


async def _rows(pilot: Pilot[Any], table: DataTable[Any], count: int, what: str) -> None:
    await until(pilot, lambda: table.row_count == count, what)


def _pat(app: TillApp, customer_id: UUID) -> UUID:
    """The id of the authorized user Pat, as the till holds the customer."""
    customer = app.till.cached_profile(customer_id)
    assert customer is not None
    return next(u.id for u in customer.authorized_users if u.first_name == "Pat")


async def _sold(till: TuiTill, customer_id: UUID, amount: int) -> None:
    """A sale rung up earlier on this till and synced, so the history has it."""
    service = TillService(till.db, till.context, till.settings, till.client)
    await service.login("brand-100", CASHIER_PIN)
    line = TransactionLine(description="Hot dog", quantity=2, unit_price=amount // 2)
    tender = SaleLineTender(kind=TenderKind.CARD, amount=amount)
    assert isinstance(await service.sale(customer_id, [line], [tender]), Saved)
    service.logout()
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()


async def test_every_tab_opens_from_the_keyboard_and_shows_the_customer(
    till: TuiTill, loopback_world: World, tmp_path: Path
) -> None:
    customer_id, barcode = new_customer(
        loopback_world, first_name="Tab", last_name="Walker", tags=["VIP"], comments="window seat"
    )
    put_card(loopback_world, customer_id, 12_345, per_event_limit=5_000, per_season_limit=50_000)
    now = datetime.now(UTC)
    with writing(loopback_world.crm.engine) as conn:
        conn.execute(
            suites.insert(),
            [
                {
                    "id": uuid4(),
                    "customer_id": customer_id,
                    "name": name,
                    "event_name": "Game",
                    "starts_at": now + start,
                    "ends_at": now + start + timedelta(hours=3),
                }
                for name, start in (
                    ("Suite 12", -timedelta(hours=1)),
                    ("Suite 7", timedelta(days=3)),
                )
            ],
        )
    await _sold(till, customer_id, 4_200)
    paper = tmp_path / "receipt.bin"
    app = with_printer(till, paper).app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        assert "Tab Walker" in text_of(profile, "#customer")
        details = text_of(profile, "#info-details")
        assert "Comments  window seat" in details
        assert "Points    42" in details
        assert "Tags      VIP" in text_of(profile, "#info-flags")
        await until(pilot, lambda: "Transactions" in text_of(profile, "#info-activity"), "activity")
        activity = text_of(profile, "#info-activity")
        assert "Transactions 1   Average spend $42.00   Last purchase " in activity
        assert "Touchpoints  stores brand a; tills G2 till" in activity

        await show_tab(pilot, profile, "history")
        history = profile.query_one("#history-table", DataTable)
        await _rows(pilot, history, 1, "the sale in the history")
        assert history.get_row_at(0)[4] == "$42.00"
        history.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReceiptScreen), "the receipt")
        assert "2 x Hot dog" in text_of(app.screen, "#receipt-text")
        await pilot.press("p")
        await until(
            pilot, lambda: "printed (file " in text_of(app.screen, "#print-result"), "printed"
        )
        assert b"2 x Hot dog" in paper.read_bytes()
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is profile, "back on the profile")

        await show_tab(pilot, profile, "loyalty")
        ledger = profile.query_one("#loyalty-ledger", DataTable)
        await _rows(pilot, ledger, 1, "the points ledger")
        assert ledger.get_row_at(0)[1] == "+42"

        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "Per event" in text_of(profile, "#sv-limits"), "the limits")
        assert text_of(profile, "#sv-balance") == "Balance $123.45"
        assert "Per event: $50.00, used $0.00, $50.00 left" in text_of(profile, "#sv-limits")
        card = text_of(profile, "#sv-card")
        assert card.startswith("Card ")
        assert "*" in card

        await show_tab(pilot, profile, "wallet")
        await until(pilot, lambda: "No saved cards" in text_of(profile, "#wallet-notice"), "wallet")

        await show_tab(pilot, profile, "authorized")
        await show_tab(pilot, profile, "suites")
        table = profile.query_one("#suites-table", DataTable)
        await _rows(pilot, table, 2, "the suites")
        assert [table.get_row_at(i)[:2] for i in range(2)] == [
            ["ongoing", "Suite 12"],
            ["upcoming", "Suite 7"],
        ]


async def test_a_go_green_customers_receipt_is_printed_only_when_they_ask(
    till: TuiTill, loopback_world: World, tmp_path: Path
) -> None:
    customer_id, barcode = new_customer(
        loopback_world, first_name="Greta", flags={"go_green": True}
    )
    await _sold(till, customer_id, 1_000)
    paper = tmp_path / "receipt.bin"
    app = with_printer(till, paper).app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await show_tab(pilot, profile, "history")
        history = profile.query_one("#history-table", DataTable)
        await _rows(pilot, history, 1, "the sale")
        history.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReceiptScreen), "the receipt")
        await pilot.press("p")
        await until(pilot, lambda: "P prints one" in text_of(app.screen, "#print-result"), "asked")
        assert not paper.exists(), "a go-green receipt is not printed on the first P"
        await pilot.press("p")  # the customer asked for one
        await until(
            pilot, lambda: "printed (file " in text_of(app.screen, "#print-result"), "printed"
        )
    assert b"TOTAL" in paper.read_bytes()


async def test_a_stored_value_charge_over_the_event_limit_is_approved_by_a_supervisor(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Eve", last_name="Event")
    put_card(loopback_world, customer_id, 20_000, per_event_limit=3_000)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "Per event" in text_of(profile, "#sv-limits"), "the limits")
        amount = profile.query_one("#sv-charge-amount", Input)
        amount.value = "45.00"
        amount.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "the override")
        dialog = app.screen
        assert text_of(dialog, "#limits") == (
            "Per-event stored value limit $30.00: this charge is $15.00 over"
        )
        dialog.query_one("#badge", Input).value = SUPERVISOR_BADGE
        dialog.query_one("#reason", Input).value = "season ticket holder"
        await pilot.click("#approve")
        await until(
            pilot, lambda: "Charged" in text_of(profile, "#sv-notice"), "charged", limit=1500
        )
        assert text_of(profile, "#sv-notice") == "Charged $45.00: saved."
    [row] = till.db.read(
        "SELECT override FROM outbox WHERE type = 'sale' AND entity_id = ?", (str(customer_id),)
    )
    assert "season ticket holder" in row[0]


async def test_points_are_redeemed_from_the_loyalty_tab(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Red", last_name="Eemer")
    await _sold(till, customer_id, 3_000)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await show_tab(pilot, profile, "loyalty")
        await until(pilot, lambda: "30" in text_of(profile, "#loyalty-balances"), "balance")
        profile.query_one("#redeem-points", Input).value = "20"
        reason = profile.query_one("#redeem-reason", Input)
        reason.value = "free coffee"
        reason.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "Redeemed" in text_of(profile, "#loyalty-notice"), "redeemed")
        assert text_of(profile, "#loyalty-notice") == "Redeemed 20 points: saved."
        await until(pilot, lambda: ": 10" in text_of(profile, "#loyalty-balances"), "new balance")
        profile.query_one("#redeem-points", Input).value = "25"
        reason.value = "a second coffee"
        reason.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "the override")
        assert text_of(app.screen, "#limits") == (
            "Balance 10 points: this redemption is 15 points over"
        )
        await pilot.press("escape")
        await until(pilot, lambda: "cancelled" in text_of(profile, "#loyalty-notice"), "cancelled")


async def test_a_wallet_card_and_an_authorized_user_are_added_and_deleted_with_confirmation(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Wal", last_name="Let")
    new_customer(loopback_world, first_name="Ada", last_name="Existing", mobile="+12125550111")
    # One sync round at start, then none: the grid shows what the till holds, with no pull
    # landing mid-test (a pull does not yet spare customers with queued ops).
    till.settings.sync = SyncSettings(interval_seconds=3600)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)

        await show_tab(pilot, profile, "wallet")
        cards = profile.query_one("#wallet-table", DataTable)
        await until(pilot, lambda: "No saved cards" in text_of(profile, "#wallet-notice"), "empty")
        cards.focus()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, WalletCardForm), "the card form")
        form = app.screen
        form.query_one("#card-number", Input).value = "4111 1111 1111 1111"
        form.query_one("#card-month", Input).value = "12"
        form.query_one("#card-year", Input).value = "2031"
        await pilot.press("ctrl+s")
        await _rows(pilot, cards, 1, "the saved card")
        assert cards.get_row_at(0)[:2] == ["visa ****1111", "12/2031"]
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, WalletCardForm), "the update form")
        form = app.screen
        assert form.query_one("#card-month", Input).value == "12"
        form.query_one("#card-year", Input).value = "2032"
        form.query_one("#card-label", Input).value = "suite card"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: cards.get_row_at(0)[1] == "12/2032", "the updated card")
        assert cards.get_row_at(0)[2] == "suite card"
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("y")
        await _rows(pilot, cards, 0, "the card deleted")

        await show_tab(pilot, profile, "authorized")
        users = profile.query_one("#users-table", DataTable)
        users.focus()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AuthorizedUserForm), "the user form")
        form = app.screen
        form.query_one("#user-first", Input).value = "Pat"
        form.query_one("#user-last", Input).value = "Partner"
        form.query_one("#user-phone", Input).value = "12"
        await pilot.press("ctrl+s")
        assert "Phone:" in text_of(form, "#user-error")
        form.query_one("#user-phone", Input).value = "+1 212 555 0199"
        await pilot.click("#user-invoicing")
        await pilot.press("ctrl+s")
        await _rows(pilot, users, 1, "the authorized user")
        assert users.get_row_at(0) == ["Pat Partner", "(212) 555-0199", "yes", "no"]
        users.focus()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AuthorizedUserForm), "the user form")
        form = app.screen
        find = form.query_one("#user-find", Input)
        find.value = "Existing"
        find.focus()
        await pilot.press("enter")
        found = form.query_one("#user-found", DataTable)
        await _rows(pilot, found, 1, "the existing customer found")
        await pilot.press("enter")
        await until(pilot, lambda: form.query_one("#user-first", Input).value == "Ada", "filled")
        await pilot.press("ctrl+s")
        await _rows(pilot, users, 2, "the existing customer assigned")
        rows = sorted(users.get_row_at(i) for i in range(2))
        assert rows == [
            ["Ada Existing", "(212) 555-0111", "no", "no"],
            ["Pat Partner", "(212) 555-0199", "yes", "no"],
        ]
        users.focus()
        users.move_cursor(row=users.get_row_index(str(_pat(app, customer_id))))
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("y")
        await _rows(pilot, users, 1, "the user unassigned")
        assert users.get_row_at(0)[0] == "Ada Existing"


async def test_an_inactive_customer_is_shown_so_and_needs_a_supervisor_to_transact(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(
        loopback_world, first_name="Ina", last_name="Ctive", flags={"active": False}
    )
    put_card(loopback_world, customer_id, 10_000)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        assert "INACTIVE" in text_of(profile, "#customer")
        assert profile.query_one("#customer").has_class("inactive")
        assert text_of(profile, "#info-flags").startswith("INACTIVE")
        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "Balance" in text_of(profile, "#sv-balance"), "balance")
        amount = profile.query_one("#sv-charge-amount", Input)
        amount.value = "5.00"
        amount.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "the override")
        assert text_of(app.screen, "#limits").startswith("The customer is inactive: this charge")
        await pilot.press("escape")
        await until(
            pilot, lambda: "Not charged" in text_of(profile, "#sv-notice"), "refused", limit=1500
        )


async def test_quick_ranges_and_a_typed_range_filter_the_history(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="His", last_name="Tory")
    await _sold(till, customer_id, 800)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await show_tab(pilot, profile, "history")
        history = profile.query_one("#history-table", DataTable)
        await _rows(pilot, history, 1, "the sale")
        history.focus()
        await pilot.press("m")
        await until(pilot, lambda: "No purchases" in text_of(profile, "#history-notice"), "empty")
        assert history.row_count == 0
        await pilot.press("t")
        await _rows(pilot, history, 1, "today's sale")
        today = profile.query_one("#history-from", Input).value
        assert profile.query_one("#history-to", Input).value == today
        start = profile.query_one("#history-from", Input)
        start.value = "2020-01-01"
        profile.query_one("#history-to", Input).value = "2020-12-31"
        start.focus()
        await pilot.press("enter")
        await _rows(pilot, history, 0, "nothing in 2020")
        profile.query_one("#history-to", Input).value = "2019-12-31"
        await pilot.press("enter")
        await until(pilot, lambda: "before the start" in text_of(profile, "#history-notice"), "bad")


async def test_a_supervisor_reveals_the_card_number_and_offline_the_cached_balance_shows_its_age(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Rev", last_name="Eal")
    put_card(loopback_world, customer_id, 7_500)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "reveal" in text_of(profile, "#sv-card"), "the masked card")
        profile.query_one(StoredValueTab).focus()
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "the override")
        dialog = app.screen
        dialog.query_one("#badge", Input).value = SUPERVISOR_BADGE
        dialog.query_one("#reason", Input).value = "customer lost the card"
        await pilot.click("#approve")
        number = f"SV{customer_id.int % 10**14:014d}"
        await until(
            pilot, lambda: text_of(profile, "#sv-card") == f"Card {number}", "revealed", limit=1500
        )
        load = profile.query_one("#sv-load-amount", Input)
        load.value = "10"
        load.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "Loaded" in text_of(profile, "#sv-notice"), "loaded")
        assert text_of(profile, "#sv-notice") == "Loaded $10.00: saved."
        await until(pilot, lambda: text_of(profile, "#sv-balance") == "Balance $85.00", "balance")

    async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "OFFLINE" in text_of(profile, "#sv-balance"), "offline")
        assert text_of(profile, "#sv-balance").startswith("Balance $85.00: OFFLINE, as of ")
        assert "min ago" in text_of(profile, "#sv-balance")
        assert "needs the CRM" in text_of(profile, "#sv-card")


async def test_the_next_customer_opens_on_info_not_the_last_tab(
    till: TuiTill, loopback_world: World
) -> None:
    first, first_card = new_customer(loopback_world, first_name="First", last_name="Guest")
    second, second_card = new_customer(loopback_world, first_name="Second", last_name="Guest")
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, first, first_card)
        await show_tab(pilot, profile, "suites")
        await scan_to_profile(pilot, till, second, second_card)
        assert profile.query_one(TabbedContent).active == "pane-info"


async def test_the_info_tab_names_the_customers_promotion_category(
    till: TuiTill, loopback_world: World
) -> None:
    """The cashier reads the category's name (from the till's context), not its id."""
    customer_id, barcode = new_customer(
        loopback_world, first_name="Gold", last_name="Member", promotion_category_id="brand-gold"
    )
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        flags = text_of(profile, "#info-flags")
        assert "Promotion Gold" in flags
        assert "brand-gold" not in flags


async def test_a_tab_opened_again_or_for_the_first_time_shows_the_customer_scanned_last(
    till: TuiTill, loopback_world: World
) -> None:
    """A scan draws only the tab on screen; the others draw the new customer when opened, never
    the one they last showed."""
    first, first_card = new_customer(loopback_world, first_name="First", last_name="Guest")
    second, second_card = new_customer(loopback_world, first_name="Second", last_name="Guest")
    put_card(loopback_world, first, 1_000, per_event_limit=5_000, per_season_limit=50_000)
    put_card(loopback_world, second, 2_000, per_event_limit=5_000, per_season_limit=50_000)
    await _sold(till, second, 4_200)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        await logged_in(pilot)
        profile = await scan_to_profile(pilot, till, first, first_card)
        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "Per event" in text_of(profile, "#sv-limits"), "the limits")
        assert text_of(profile, "#sv-balance") == "Balance $10.00"

        await scan_to_profile(pilot, till, second, second_card)
        await show_tab(pilot, profile, "stored-value")
        await until(pilot, lambda: "Per event" in text_of(profile, "#sv-limits"), "the limits")
        assert text_of(profile, "#sv-balance") == "Balance $20.00"

        await show_tab(pilot, profile, "history")
        history = profile.query_one("#history-table", DataTable)
        await _rows(pilot, history, 1, "the second customer's sale")
        assert history.get_row_at(0)[4] == "$42.00"
