"""The sale panel driven as a cashier: points shown before confirming, a sale over the
transaction limit approved by a supervisor (and refused to the cashier herself), saved with
the approval on its op; its receipt printed on a serial printer (a real pseudo-terminal), an
offline printer that keeps the sale and prints on P once back, and a go-green customer who
gets paper only when they ask."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from tests.support.outbox import approval_needs_review, put_card
from tests.support.printer import CUT, PAPER_OK, PAPER_QUERY, PtyPrinter
from tests.support.tui import CASHIER, SIZE, SUPERVISOR, TuiTill, text_of, until
from tests.support.world import (
    CASHIER_PIN,
    SUPERVISOR_BADGE,
    SUPERVISOR_PIN,
    World,
    add_operator,
)
from tests.tui.cashier import (
    logged_in,
    new_customer,
    offline_app,
    scan_to_profile,
    with_printer,
)
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from tillcrm.card_routing import BUSY_MESSAGE
from tillcrm.config import DeviceKind, PrinterKind, PrinterSettings
from tillcrm.domain import Role, verify_pin
from tillcrm.local import OpState, Outbox
from tillcrm.screens._printing import GO_GREEN
from tillcrm.screens.override import OverrideScreen
from tillcrm.screens.sale import SaleScreen
from tillcrm.server.db import reading
from tillcrm.server.tables import supervisor_verifications
from tillcrm.sync import SyncEngine
from tillcrm.widgets.money import MoneyFormat, MoneyInputError


async def _sale_panel(
    pilot: Pilot[Any], till: TuiTill, customer_id: UUID, barcode: str
) -> Screen[Any]:
    """Log the cashier in, scan the customer's card and open the sale panel (F2)."""
    await logged_in(pilot)
    await scan_to_profile(pilot, till, customer_id, barcode)
    await pilot.press("f2")
    await until(pilot, lambda: isinstance(pilot.app.screen, SaleScreen), "sale panel")
    return pilot.app.screen


async def _sale_over_the_limit(
    pilot: Pilot[Any], till: TuiTill, world: World, name: str
) -> tuple[UUID, Screen[Any]]:
    """A new customer whose transaction limit is $10.00, and the sale panel open on a $25.00
    sale with $20.00 to store credit: $10.00 over, so F10 asks for a supervisor."""
    customer_id, barcode = new_customer(
        world, first_name=name, transaction_limit=1000, store_credit_limit=50_000
    )
    sale = await _sale_panel(pilot, till, customer_id, barcode)
    sale.query_one("#sale-amount", Input).value = "25.00"
    sale.query_one("#sale-store-credit", Input).value = "20.00"
    return customer_id, sale


async def test_a_sale_over_the_limit_needs_a_supervisor_not_the_cashier(
    till: TuiTill, loopback_world: World
) -> None:
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        customer_id, sale = await _sale_over_the_limit(pilot, till, loopback_world, "Lim")
        await until(pilot, lambda: "Points earned 25" in text_of(sale, "#sale-preview"), "preview")
        assert "store credit $20.00" in text_of(sale, "#sale-preview")
        assert "card $5.00" in text_of(sale, "#sale-preview")

        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "override dialog")
        dialog = app.screen
        assert text_of(dialog, "#limits") == "Transaction limit $10.00: this charge is $10.00 over"

        dialog.query_one("#code", Input).value = CASHIER
        dialog.query_one("#pin", Input).value = CASHIER_PIN
        dialog.query_one("#reason", Input).value = "regular"
        await pilot.click("#approve")
        await until(pilot, lambda: text_of(dialog, "#refusal") != "", "the refusal", limit=1500)
        assert text_of(dialog, "#refusal") == "a cashier cannot approve their own action"
        assert app.screen is dialog

        # The supervisor swipes a badge on the till's reader while the dialog is open.
        dialog.query_one("#code", Input).value = ""
        till.readers[DeviceKind.MAGSTRIPE].swipe(track1=f"A{SUPERVISOR_BADGE}")
        await until(pilot, lambda: app.screen is sale, "back on the sale panel", limit=1500)
        await until(pilot, lambda: text_of(sale, "#sale-result") != "", "the result", limit=1500)
        assert text_of(sale, "#sale-result") == "Saved"

    rows = till.db.read(
        "SELECT operator_id, override FROM outbox WHERE type = 'sale' AND entity_id = ?",
        (str(customer_id),),
    )
    assert len(rows) == 1
    override = json.loads(rows[0][1])
    assert rows[0][0] == "brand-cashier"
    assert override["supervisor_id"] == "brand-super"
    assert override["cashier_id"] == "brand-cashier"
    assert override["reason"] == "regular"
    assert override["action"]["amount"] == 2000


async def test_the_supervisor_check_runs_off_the_ui_thread(
    till: TuiTill, loopback_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scrypt costs the till a noticeable time: the dialog must not freeze while it runs."""
    checked_on: list[threading.Thread] = []

    def watched(secret: str, encoded: str) -> bool:
        checked_on.append(threading.current_thread())
        return verify_pin(secret, encoded)

    monkeypatch.setattr("tillcrm.local.operators.verify_pin", watched)
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        _, sale = await _sale_over_the_limit(pilot, till, loopback_world, "Thr")
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "override dialog")
        checked_on.clear()  # the login's check ran before
        app.screen.query_one("#reason", Input).value = "regular"
        till.readers[DeviceKind.MAGSTRIPE].swipe(track1=f"A{SUPERVISOR_BADGE}")
        await until(pilot, lambda: app.screen is sale, "back on the sale panel", limit=1500)
    assert checked_on
    assert threading.main_thread() not in checked_on


async def test_online_the_crm_verifies_the_supervisor_and_a_locked_one_is_told_when(
    till: TuiTill, loopback_world: World
) -> None:
    add_operator(loopback_world, "org-brand", "brand-late", pin="864200", role=Role.SUPERVISOR)
    with loopback_world.client("brand.b") as http:  # four wrong tries at another till
        for _ in range(4):
            wrong = {"supervisor_id": "brand-late", "pin": "000000"}
            assert http.post("/operators/verify", json=wrong).status_code == 403
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        customer_id, sale = await _sale_over_the_limit(pilot, till, loopback_world, "Ver")
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "override dialog")
        dialog = app.screen
        dialog.query_one("#code", Input).value = "brand-late"
        dialog.query_one("#pin", Input).value = "111999"
        dialog.query_one("#reason", Input).value = "regular"
        await pilot.click("#approve")
        await until(pilot, lambda: text_of(dialog, "#refusal") != "", "the refusal", limit=1500)
        assert re.fullmatch(r"brand-late is locked, try in \d+ s", text_of(dialog, "#refusal"))

        dialog.query_one("#code", Input).value = SUPERVISOR
        dialog.query_one("#pin", Input).value = SUPERVISOR_PIN
        await pilot.press("ctrl+s")  # a click now would land in the button's 0.2 s press effect
        await until(pilot, lambda: app.screen is sale, "back on the sale panel", limit=1500)
        await until(pilot, lambda: text_of(sale, "#sale-result") != "", "the result", limit=1500)
        assert text_of(sale, "#sale-result") == "Saved"
    [(carried,)] = till.db.read(
        "SELECT override FROM outbox WHERE type = 'sale' AND entity_id = ?", (str(customer_id),)
    )
    verification = UUID(json.loads(carried)["verification_id"])
    with reading(loopback_world.crm.engine) as conn:
        issued = conn.execute(
            sa.select(supervisor_verifications.c.supervisor_id).where(
                supervisor_verifications.c.verification_id == verification
            )
        ).scalar_one()
    assert issued == "brand-super"


async def test_offline_an_override_is_approved_on_the_till_and_flagged_for_review(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(
        loopback_world, first_name="Rev", transaction_limit=1000, store_credit_limit=50_000
    )
    async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
        sale = await _sale_panel(pilot, till, customer_id, barcode)
        sale.query_one("#sale-amount", Input).value = "25.00"
        sale.query_one("#sale-store-credit", Input).value = "20.00"
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "override dialog")
        app.screen.query_one("#reason", Input).value = "regular"
        till.readers[DeviceKind.MAGSTRIPE].swipe(track1=f"A{SUPERVISOR_BADGE}")
        await until(pilot, lambda: app.screen is sale, "back on the sale panel", limit=1500)
        await until(pilot, lambda: text_of(sale, "#sale-result") != "", "the result", limit=1500)
        assert text_of(sale, "#sale-result") == "Saved, queued until the CRM is back"
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()
    [flagged] = Outbox(till.db).entries(OpState.NEEDS_REVIEW)
    assert flagged.op.override is not None
    assert flagged.op.override.verification_id is None
    assert approval_needs_review(loopback_world, flagged.op.override.approval_id) is True


async def test_offline_the_sale_is_saved_and_queued_and_syncs_when_the_crm_is_back(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Off", last_name="Line")
    async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
        sale = await _sale_panel(pilot, till, customer_id, barcode)
        sale.query_one("#sale-item", Input).value = "Pretzel"
        sale.query_one("#sale-amount", Input).value = "12.99"
        await until(pilot, lambda: "Points earned 12" in text_of(sale, "#sale-preview"), "preview")
        await pilot.press("f10")
        await until(pilot, lambda: text_of(sale, "#sale-result") != "", "the result", limit=1500)
        assert text_of(sale, "#sale-result") == "Saved, queued until the CRM is back"
        await pilot.press("escape")
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()
    with loopback_world.client("brand.a") as http:
        history = http.get(f"/customers/{customer_id}/history").json()["items"]
    assert [(row["total"], row["points_earned"]) for row in history] == [(1299, 12)]


def test_money_is_shown_and_read_in_the_tills_locale() -> None:
    german = MoneyFormat("de_DE", "EUR")
    assert german.format(123_456) == "1.234,56\xa0€"
    assert german.parse("1234,5") == 123_450
    assert german.plain(123_450) == "1234,50"
    assert MoneyFormat("ja_JP", "JPY").format(1250) == "￥1,250"
    with pytest.raises(MoneyInputError, match="no smaller unit"):
        MoneyFormat().parse("1.005")
    with pytest.raises(MoneyInputError, match="not an amount"):
        MoneyFormat().parse("ten")


async def test_a_card_read_during_a_sale_does_not_throw_the_sale_away(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Busy", last_name="Cashier")
    _, other_barcode = new_customer(loopback_world, first_name="Next", last_name="Inline")
    seen: list[Message] = []
    app = till.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        sale = await _sale_panel(pilot, till, customer_id, barcode)
        sale.query_one("#sale-amount", Input).value = "12.00"
        till.readers[DeviceKind.BARCODE].scan(other_barcode)
        notes = lambda: [m.notification.message for m in seen if isinstance(m, Notify)]  # noqa: E731
        await until(pilot, lambda: BUSY_MESSAGE in notes(), "the busy message")
        assert app.screen is sale
        assert sale.query_one("#sale-amount", Input).value == "12.00"


async def test_the_points_preview_counts_the_customers_promotion_category_as_the_crm_does(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(
        loopback_world, first_name="Gold", last_name="Member", promotion_category_id="brand-gold"
    )
    app = till.app()
    async with app.run_test(size=SIZE) as pilot:
        sale = await _sale_panel(pilot, till, customer_id, barcode)
        sale.query_one("#sale-amount", Input).value = "12.99"
        await until(pilot, lambda: "Points earned" in text_of(sale, "#sale-preview"), "preview")
        assert "Points earned 24" in text_of(sale, "#sale-preview")  # Gold: 2 points a dollar
        await pilot.press("f10")
        await until(pilot, lambda: text_of(sale, "#sale-result") != "", "the result", limit=1500)
        await pilot.press("escape")
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()
    with loopback_world.client("brand.a") as http:
        history = http.get(f"/customers/{customer_id}/history").json()["items"]
    assert [row["points_earned"] for row in history] == [24]


def _serial(port: Path | str) -> PrinterSettings:
    return PrinterSettings(kind=PrinterKind.SERIAL, device=str(port), timeout=1)


async def _sold(
    pilot: Pilot[Any], till: TuiTill, customer_id: UUID, barcode: str, **amounts: str
) -> Screen[Any]:
    """Open the customer's sale panel, ring up a pretzel for `amounts` (field: value) and
    confirm it; returns the panel once the sale is saved."""
    sale = await _sale_panel(pilot, till, customer_id, barcode)
    sale.query_one("#sale-item", Input).value = "Pretzel"
    for field, value in amounts.items():
        sale.query_one(f"#sale-{field.replace('_', '-')}", Input).value = value
    await pilot.press("f10")
    await until(pilot, lambda: text_of(sale, "#sale-result") != "", "the sale saved", limit=1500)
    assert text_of(sale, "#sale-result") == "Saved"
    return sale


async def test_a_saved_sale_prints_its_receipt_on_the_serial_printer(
    till: TuiTill, loopback_world: World
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Rita")
    put_card(loopback_world, customer_id, 5_000)
    printer = PtyPrinter(PAPER_OK)
    try:
        app = with_printer(till, _serial(printer.port)).app()
        async with app.run_test(size=SIZE) as pilot:
            sale = await _sold(
                pilot, till, customer_id, barcode, amount="12.50", stored_value="2.50"
            )
            await until(pilot, lambda: "printed" in text_of(sale, "#sale-receipt"), "printed")
            said = text_of(sale, "#sale-receipt")
            job = printer.job()
    finally:
        printer.close()
    assert said == f"Receipt 00000002 printed (serial {printer.port})."
    assert job.startswith(PAPER_QUERY + b"\x1b@")
    text = job.decode("cp437")
    for shown in (
        "brand a",  # the store's name, not its id
        "G2 till",
        "Cass Hier",
        "Receipt 00000002",  # the sale is the till's second op, after the visit
        "1 x Pretzel",
        "$12.50",
        "stored value",
        "$2.50",
        "card",
        "$10.00",
        "+12 / -0",
    ):
        assert shown in text, shown
    lines = text.splitlines()
    assert next(line for line in lines if "Points balance" in line).endswith(" 12")
    assert next(line for line in lines if "Stored value left" in line).endswith(" $47.50")
    assert "brand-a-store" not in text
    assert b"\x1dkI\x0a{B00000002" in job, "the number as a Code 128 barcode (GS k)"
    assert job.endswith(CUT)


async def test_an_offline_printer_keeps_the_sale_and_prints_on_p_once_back(
    till: TuiTill, loopback_world: World, tmp_path: Path
) -> None:
    customer_id, barcode = new_customer(loopback_world, first_name="Otto")
    port = tmp_path / "ttyPRINTER"  # nothing there yet: the printer is unplugged
    app = with_printer(till, _serial(port)).app()
    async with app.run_test(size=SIZE) as pilot:
        sale = await _sold(pilot, till, customer_id, barcode, amount="4.00")
        await until(pilot, lambda: "offline" in text_of(sale, "#sale-receipt"), "offline")
        assert text_of(sale, "#sale-receipt") == (
            "Printer offline: sale saved, press P to print it when the printer is back."
        )
        rows = till.db.read("SELECT type FROM outbox WHERE entity_id = ?", (str(customer_id),))
        assert ("sale",) in [tuple(row) for row in rows], "the sale is in the outbox"

        printer = PtyPrinter(PAPER_OK)
        try:
            port.symlink_to(printer.port)  # plugged back in
            await pilot.press("p")
            await until(pilot, lambda: "printed" in text_of(sale, "#sale-receipt"), "printed")
            assert b"1 x Pretzel" in printer.job()
        finally:
            printer.close()


async def test_a_go_green_customer_gets_a_receipt_only_when_they_ask(
    till: TuiTill, loopback_world: World, tmp_path: Path
) -> None:
    customer_id, barcode = new_customer(
        loopback_world, first_name="Greta", flags={"go_green": True}
    )
    paper = tmp_path / "receipt.bin"
    app = with_printer(till, paper).app()
    async with app.run_test(size=SIZE) as pilot:
        sale = await _sold(pilot, till, customer_id, barcode, amount="3.00")
        await until(pilot, lambda: text_of(sale, "#sale-receipt") == GO_GREEN, "go green")
        await pilot.pause(0.1)
        assert not paper.exists(), "no paper for a go-green customer"
        await pilot.press("p")  # the customer asks for one
        await until(pilot, lambda: "printed" in text_of(sale, "#sale-receipt"), "printed")
    assert b"1 x Pretzel" in paper.read_bytes()
