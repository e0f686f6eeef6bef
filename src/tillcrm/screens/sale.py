"""The sale panel: the amount, the tenders drawn on the customer's accounts, the points the
sale earns under the customer's promotion category (shown before confirming), and the result:
saved, and queued when offline.

A charge past a limit (transaction, credit, per-event or per-season, balance, offline cap, or
an inactive customer) opens the supervisor override bound to exactly this sale; approved, the
sale is saved with the approval on its op.

Once saved, the receipt prints in a worker (a go-green customer's only when they ask: P); a
printer that is offline or out of paper is said so, and P prints again: the sale stays saved.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from tillcrm.api import CustomerOut, SaleLineTender
from tillcrm.domain import (
    OverrideApproval,
    TenderKind,
    TransactionLine,
    points_earned,
)
from tillcrm.receipts import PrintedReceipt, ReceiptPrinter
from tillcrm.screens._base import TillScreen
from tillcrm.screens._printing import print_receipt
from tillcrm.screens._text import INACTIVE_NOTE, input_problem, sentence
from tillcrm.screens.override import with_override
from tillcrm.till import Declined, OverrideRequired, Saved, TillService
from tillcrm.widgets.compact_input import CompactInput
from tillcrm.widgets.money import MoneyFormat, MoneyInputError

__all__ = ["SaleScreen"]

_CUSTOMER = "customer"
"""The Select value meaning the customer charges their own house account."""


class SaleScreen(TillScreen[Saved | None]):
    """Ring up one sale for `customer`; dismisses with the `Saved` answer, or None."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("f10", "confirm", "Confirm sale"),
        Binding("p", "print_receipt", "Print receipt"),
    ]

    def __init__(
        self,
        till: TillService,
        money: MoneyFormat,
        customer: CustomerOut,
        printer: ReceiptPrinter | None = None,
    ) -> None:
        super().__init__()
        self._till = till
        self._money = money
        self._customer = customer
        self._printer = printer
        self._saved: Saved | None = None
        self._receipt: PrintedReceipt | None = None

    def compose_body(self) -> ComposeResult:
        """The sale's fields, the preview line and the buttons."""
        profile = self._customer.profile
        name = f"{profile.first_name} {profile.last_name}".strip() or profile.company
        inactive = "" if profile.flags.active else f"  {INACTIVE_NOTE}"
        payers = [(f"{name} (customer)", _CUSTOMER)] + [
            (f"{u.first_name} {u.last_name}".strip(), str(u.id))
            for u in self._customer.authorized_users
            if u.allow_invoicing
        ]
        with Vertical(id="sale-body"):
            yield Label(
                f"Sale for #{profile.customer_number or '-'} {name}{inactive}",
                id="sale-customer",
                classes="" if profile.flags.active else "inactive",
            )
            with Grid():
                yield Label("Item")
                yield CompactInput("Sale", id="sale-item")
                yield Label("Amount")
                yield CompactInput(placeholder=self._money.format(0), id="sale-amount")
                yield Label("Points tender")
                with Horizontal(id="sale-points-row"):
                    yield CompactInput(placeholder="points", id="sale-points", type="integer")
                    yield CompactInput(placeholder="worth", id="sale-points-value")
                yield Label("Stored value")
                yield CompactInput(placeholder=self._money.format(0), id="sale-stored-value")
                yield Label("Store credit")
                yield CompactInput(placeholder=self._money.format(0), id="sale-store-credit")
                yield Label("Charged by")
                yield Select(
                    payers, value=_CUSTOMER, allow_blank=False, id="sale-payer", compact=True
                )
            yield Static("", id="sale-preview")
            yield Static("", id="sale-error")
            yield Static("", id="sale-result")
            yield Static("", id="sale-receipt")
            with Horizontal(classes="buttons"):
                yield Button("Confirm (F10)", id="sale-confirm", variant="success", compact=True)
                yield Button("Print receipt (P)", id="sale-print", disabled=True, compact=True)
                yield Button("Close (Esc)", id="sale-close", compact=True)

    def on_mount(self) -> None:
        """The amount first: most sales need nothing else."""
        self.query_one("#sale-amount", Input).focus()

    def _amount(self, widget_id: str) -> int:
        text = self.query_one(f"#{widget_id}", Input).value.strip()
        return self._money.parse(text) if text else 0

    def _tenders(self) -> tuple[int, list[SaleLineTender]]:
        """The total and the tenders; what the accounts do not pay goes on the card."""
        total = self._amount("sale-amount")
        if total <= 0:
            raise MoneyInputError("enter the sale amount")
        points_text = self.query_one("#sale-points", Input).value.strip()
        points = int(points_text) if points_text else 0
        points_value = self._amount("sale-points-value")
        if bool(points) != bool(points_value):
            raise MoneyInputError("a points tender needs both the points and what they are worth")
        tenders = [
            SaleLineTender(kind=kind, amount=amount, points=points if points else None)
            if kind is TenderKind.POINTS
            else SaleLineTender(kind=kind, amount=amount)
            for kind, amount in (
                (TenderKind.POINTS, points_value),
                (TenderKind.STORED_VALUE, self._amount("sale-stored-value")),
                (TenderKind.STORE_CREDIT, self._amount("sale-store-credit")),
            )
            if amount
        ]
        rest = total - sum(t.amount for t in tenders)
        if rest < 0:
            raise MoneyInputError("the tenders come to more than the sale")
        if rest:
            tenders.append(SaleLineTender(kind=TenderKind.CARD, amount=rest))
        return total, tenders

    @on(Input.Changed)
    def _preview(self) -> None:
        """Total, points earned and what each tender takes, before the cashier confirms."""
        preview = self.query_one("#sale-preview", Static)
        error = self.query_one("#sale-error", Static)
        try:
            total, tenders = self._tenders()
        except (MoneyInputError, ValueError) as bad:
            preview.update("")
            error.update(str(bad) if self.query_one("#sale-amount", Input).value else "")
            return
        error.update("")
        earned = points_earned(
            total,
            self._money.currency,
            self._till.promotion_category(self._customer),
            loyalty_enabled=self._customer.profile.flags.loyalty_enabled,
        )
        paid = "  ".join(
            f"{t.kind.value.replace('_', ' ')} {self._money.format(t.amount)}" for t in tenders
        )
        preview.update(
            f"Total {self._money.format(total)}   Points earned {earned}\nTenders: {paid}"
        )

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(Button.Pressed, "#sale-confirm")
    def action_confirm(self) -> None:
        """Save the sale (asking a supervisor first when it breaks a limit)."""
        if self._saved is not None:
            return
        try:
            total, tenders = self._tenders()
        except (MoneyInputError, ValueError) as bad:
            self.query_one("#sale-error", Static).update(str(bad))
            return
        item = self.query_one("#sale-item", Input).value.strip() or "Sale"
        try:
            line = TransactionLine(description=item, unit_price=total)
        except ValidationError as bad:
            self.query_one("#sale-error", Static).update(f"Item: {input_problem(bad)}")
            return
        self._save(line, tenders)

    @work(exclusive=True, group="sale")
    async def _save(self, line: TransactionLine, tenders: list[SaleLineTender]) -> None:
        payer = self.query_one("#sale-payer", Select).value
        user_id = None if payer == _CUSTOMER else self._authorized_user(str(payer))

        async def attempt(override: OverrideApproval | None) -> Saved | Declined | OverrideRequired:
            return await self._till.sale(
                self._customer.id, [line], tenders, authorized_user_id=user_id, override=override
            )

        what = f"Sale of {self._money.format(line.total)} for this customer"
        answer = await with_override(self.app, self._till, what, attempt)
        if answer is None:
            self.query_one("#sale-error", Static).update("Not saved: the override was cancelled.")
        elif isinstance(answer, Declined):
            self.query_one("#sale-error", Static).update(f"Declined: {answer.reason}")
        else:
            self._saved = answer
            self.query_one("#sale-error", Static).update("")
            self.query_one("#sale-result", Static).update(sentence(answer.message))
            self.query_one("#sale-confirm", Button).disabled = True
            self._sold(answer)

    def _sold(self, saved: Saved) -> None:
        """The sale is committed: its fields are done with (so P reaches the screen), and
        its receipt prints unless the customer went green."""
        for field in self.query(Input):
            field.disabled = True
        self.query_one("#sale-payer", Select).disabled = True
        button = self.query_one("#sale-print", Button)
        button.disabled = False
        button.focus()
        self._receipt = self._till.sale_receipt(saved)
        self.refresh_bindings()
        self._print(asked=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """P shows once there is a receipt to print."""
        return self._receipt is not None if action == "print_receipt" else True

    @on(Button.Pressed, "#sale-print")
    def action_print_receipt(self) -> None:
        """Print the receipt (again): a go-green customer asked for one, or the printer is
        back."""
        if self._receipt is not None:
            self._print(asked=True)

    @work(exclusive=True, group="print")
    async def _print(self, *, asked: bool) -> None:
        assert self._receipt is not None
        status = self.query_one("#sale-receipt", Static)
        status.update("Printing the receipt...")
        status.update(
            await print_receipt(
                self._printer,
                self._receipt,
                asked=asked,
                retry="sale saved, press P to print it when the printer is back",
            )
        )

    def _authorized_user(self, key: str) -> UUID:
        return next(u.id for u in self._customer.authorized_users if str(u.id) == key)

    @on(Button.Pressed, "#sale-close")
    def action_close(self) -> None:
        """Back to the profile, with the saved sale if there is one."""
        self.dismiss(self._saved)
