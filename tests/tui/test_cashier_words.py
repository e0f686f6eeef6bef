"""The screens in the cashier's words: brands, stores, tills and operators by name (never
their ids), dates and times as the till's locale writes them (here de_DE), phone numbers as
they are dialled. A till of the brand-wallets organization, so points are per brand."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from uuid import UUID

from tests.support.customers import put_customer
from tests.support.till_db import queue_visits
from tests.support.tui import SIZE, TuiTill, text_of, until
from tests.support.world import CASHIER_PIN, SUPERVISOR_PIN, World
from tests.tui.cashier import enrolled_till, logged_in, offline_app, scan_to_profile, show_tab
from textual.widgets import DataTable

from tillcrm.api import SaleLineTender
from tillcrm.config import DeviceKind, LocaleSettings
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain import IdentifierKind, TenderKind, TransactionLine
from tillcrm.screens.profile.receipt import ReceiptScreen
from tillcrm.screens.sync import SyncScreen
from tillcrm.sync import SyncEngine
from tillcrm.till import Saved, TillService

GERMAN_MOMENT = r"\d\d\.\d\d\.\d{4}, \d\d:\d\d"
"""de_DE's medium date and short time: `07.12.2026, 13:05`."""
BARCODE = "WORDS0000001"


def _in_german(till: TuiTill) -> TuiTill:
    locale = LocaleSettings(locale="de_DE", currency="USD", phone_region="US")
    return replace(till, settings=till.settings.model_copy(update={"locale": locale}))


async def _sold(till: TuiTill, customer_id: UUID, operator: str) -> None:
    """A sale of $42.00 rung up at this till by the cashier, and synced."""
    service = TillService(till.db, till.context, till.settings, till.client)
    await service.login(operator, CASHIER_PIN)
    line = TransactionLine(description="Pretzel", quantity=2, unit_price=2_100)
    tender = SaleLineTender(kind=TenderKind.CARD, amount=4_200)
    assert isinstance(await service.sale(customer_id, [line], [tender]), Saved)
    service.logout()
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()


async def test_info_history_loyalty_and_the_receipt_name_things_and_speak_german(
    tmp_path: Path, loopback_world: World, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    customer_id = put_customer(
        loopback_world,
        "wallets",
        "a",
        cards={IdentifierKind.BARCODE: BARCODE},
        first_name="Wort",
        last_name="Reich",
        mobile="+14155550101",
        phone="+493012345678",
        date_of_birth=date(1990, 3, 4),
    )
    async with enrolled_till(
        tmp_path, loopback_world.crm, readers, store="wallets-a-store"
    ) as enrolled:
        till = _in_german(enrolled)
        await _sold(till, customer_id, "wallets-100")
        app = till.app()
        async with app.run_test(size=SIZE) as pilot:
            await logged_in(pilot, "wallets-100")
            profile = await scan_to_profile(pilot, till, customer_id, BARCODE)

            details = text_of(profile, "#info-details")
            assert "Mobile    (415) 555-0101   Phone +49 30 12345678" in details
            assert "Born 04.03.1990" in details
            assert "Points    42 at a" in details
            assert "wallets-a" not in details
            await until(
                pilot, lambda: "Touchpoints" in text_of(profile, "#info-activity"), "activity"
            )
            activity = text_of(profile, "#info-activity")
            assert "Average spend 42,00\xa0$" in activity
            assert re.search(f"Last purchase {GERMAN_MOMENT}", activity), activity
            assert "Touchpoints  stores wallets a; tills G2 till" in activity

            await show_tab(pilot, profile, "history")
            history = profile.query_one("#history-table", DataTable)
            await until(pilot, lambda: history.row_count == 1, "the sale in the history")
            _, when, store, till_name, total, points = history.get_row_at(0)
            assert re.fullmatch(GERMAN_MOMENT, when), when
            assert (store, till_name, total, points) == (
                "wallets a",
                "G2 till",
                "42,00\xa0$",
                "+42 / -0",
            )
            history.focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ReceiptScreen), "the receipt")
            receipt = text_of(app.screen, "#receipt-text")
            assert re.search(GERMAN_MOMENT, receipt), receipt
            assert "G2 till" in receipt
            assert "Cass Hier" in receipt
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is profile, "back on the profile")

            await show_tab(pilot, profile, "loyalty")
            assert "Points at a: 42" in text_of(profile, "#loyalty-balances")
            ledger = profile.query_one("#loyalty-ledger", DataTable)
            await until(pilot, lambda: ledger.row_count == 1, "the points ledger")
            when, delta, _, brand = ledger.get_row_at(0)
            assert re.fullmatch(GERMAN_MOMENT, when), when
            assert (delta, brand) == ("+42", "a")


async def test_the_sync_screen_names_the_customer_and_operator_and_speaks_german(
    tmp_path: Path, loopback_world: World, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Queue", last_name="Dnames")
    async with enrolled_till(tmp_path, loopback_world.crm, readers) as enrolled:
        till = _in_german(enrolled)
        async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
            queue_visits(till.db, customer_id, operator="brand-cashier")
            await logged_in(pilot, "brand-900", SUPERVISOR_PIN)
            await pilot.press("ctrl+y")
            await until(pilot, lambda: isinstance(app.screen, SyncScreen), "the sync screen")
            table = app.screen.query_one("#sync-queue", DataTable)
            await until(pilot, lambda: table.row_count == 1, "the queued visit")
            _, kind, customer, saved, operator, _ = table.get_row_at(0)
    assert (kind, customer, operator) == ("visit", "Queue Dnames", "Cass Hier")
    assert re.fullmatch(GERMAN_MOMENT, saved), saved
