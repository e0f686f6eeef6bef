"""The Stored value tab: the virtual card (masked; a supervisor reveals it), balance inquiry
(live, or the cached balance and its age offline), per-event and per-season limits with what
is used of them, and charging or loading the card.

A charge is a sale paid from stored value, so it passes the same limits and overrides as any
sale; a load is online only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static

from tillcrm.api import CustomerOut, SaleLineTender, StoredValueOut
from tillcrm.domain import OverrideApproval, TenderKind, TransactionLine
from tillcrm.screens.override import OverrideScreen, with_override
from tillcrm.screens.profile._tab import ProfileContext, ProfileTab
from tillcrm.till import BalanceInquiry, Declined, NotFound, Offline, OverrideRequired, Saved
from tillcrm.widgets.compact_input import CompactInput
from tillcrm.widgets.money import MoneyInputError

__all__ = ["StoredValueTab", "describe_age"]


def describe_age(age: timedelta) -> str:
    """How old a balance is, the way a cashier says it: `3 h 5 min`, `2 days 4 h`."""
    minutes = max(int(age.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


class StoredValueTab(ProfileTab):
    """Card, balance, limits; charge and load."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "inquiry", "Balance"),
        Binding("v", "reveal", "Reveal card"),
        Binding("c", "focus_charge", "Charge"),
        Binding("l", "focus_load", "Load"),
    ]

    def __init__(self, context: ProfileContext, *, id: str) -> None:
        super().__init__(context, id=id)
        self._card: StoredValueOut | None = None

    def compose(self) -> ComposeResult:
        """Card, balance, limits, then the charge and load fields."""
        yield Static("", id="sv-card")
        yield Static("", id="sv-balance")
        yield Static("", id="sv-limits")
        with Horizontal():
            yield CompactInput(placeholder="Charge amount", id="sv-charge-amount")
            yield Button("Charge", id="sv-charge", compact=True)
            yield CompactInput(placeholder="Load amount", id="sv-load-amount")
            yield Button("Load", id="sv-load", compact=True)
        yield Static("", id="sv-notice", classes="notice")

    def draw(self, customer: CustomerOut) -> None:
        """The balance at once, from the till's record (which counts this till's queued
        charges); the card and its limits when the tab loads."""
        self._card = None
        self.notice("sv-card", "")
        self.notice("sv-limits", "")
        balance = customer.balances.stored_value
        self.notice(
            "sv-balance",
            "No stored-value card assigned."
            if balance is None
            else f"Balance {self.money.format(balance)}",
        )

    async def load(self, customer: CustomerOut) -> None:
        """The card and its limits from the CRM; offline, the cached balance and its age."""
        answer = await self.till.stored_value(customer.id)
        if isinstance(answer, NotFound):
            self.notice("sv-balance", "No stored-value card assigned.")
            return
        if isinstance(answer, Offline):
            self.notice("sv-card", f"Card and limits: {answer.message}")
            await self._inquire(customer.id)
            return
        self._card = answer
        self.notice("sv-card", f"Card {answer.card_number_masked}   (v: reveal, supervisor)")
        self.notice("sv-limits", self._limits(answer))

    def _limits(self, card: StoredValueOut) -> str:
        def limit(name: str, value: int | None, used: int, period: str) -> str:
            if value is None:
                return f"{name}: no limit"
            left = self.money.format(max(value - used, 0), card.currency)
            shown = self.money.format(value, card.currency)
            spent = self.money.format(used, card.currency)
            return f"{name}: {shown}, used {spent}, {left} left{period}"

        event = card.current_event.name if card.current_event else "no event now"
        season = card.current_season.name if card.current_season else "no season now"
        reset = ", resets after each event" if card.reset_after_event else ""
        return "\n".join(
            [
                limit("Per event", card.per_event_limit, card.event_used, f" ({event}{reset})"),
                limit("Per season", card.per_season_limit, card.season_used, f" ({season})"),
            ]
        )

    def action_inquiry(self) -> None:
        """Balance inquiry: live from the CRM, or the cached balance and how old it is."""
        if self.customer is not None:
            self.run_worker(self._inquire(self.customer.id), group="sv-inquiry", exclusive=True)

    async def _inquire(self, customer_id: UUID) -> None:
        answer = await self.till.balance(customer_id, "stored_value")
        if not isinstance(answer, BalanceInquiry) or answer.balance is None:
            self.notice("sv-balance", "No stored-value card assigned.")
            return
        shown = self.money.format(answer.balance, answer.currency)
        if answer.live:
            self.notice("sv-balance", f"Balance {shown} (live)")
        else:
            self.notice(
                "sv-balance",
                f"Balance {shown}: OFFLINE, as of {describe_age(answer.age)} ago "
                f"({self.when(answer.as_of)})",
            )

    def action_reveal(self) -> None:
        """Show the full card number, with a supervisor's approval."""
        if self.customer is not None:
            self._reveal(self.customer.id)

    @work(exclusive=True, group="sv-reveal")
    async def _reveal(self, customer_id: UUID) -> None:
        answer = await self.till.reveal_card_number(customer_id)
        if isinstance(answer, OverrideRequired):
            dialog = OverrideScreen(self.till, answer, "Reveal the full stored-value card number")
            approval = await self.app.push_screen_wait(dialog)
            if approval is None:
                self.notice("sv-notice", "Not revealed: the override was cancelled.")
                return
            answer = await self.till.reveal_card_number(customer_id, override=approval)
        if isinstance(answer, str):
            self.notice("sv-card", f"Card {answer}")
        elif isinstance(answer, Offline):
            self.notice("sv-notice", answer.message)
        elif isinstance(answer, Declined):
            self.notice("sv-notice", f"Declined: {answer.reason}")

    def action_focus_charge(self) -> None:
        """Jump to the charge amount."""
        self.query_one("#sv-charge-amount", Input).focus()

    def action_focus_load(self) -> None:
        """Jump to the load amount."""
        self.query_one("#sv-load-amount", Input).focus()

    def _typed(self, widget_id: str) -> int | None:
        try:
            amount = self.money.parse(self.query_one(f"#{widget_id}", Input).value)
        except MoneyInputError as bad:
            self.notice("sv-notice", str(bad))
            return None
        if amount <= 0:
            self.notice("sv-notice", "Enter an amount.")
            return None
        return amount

    @on(Input.Submitted, "#sv-charge-amount")
    @on(Button.Pressed, "#sv-charge")
    def _charge_pressed(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        amount = self._typed("sv-charge-amount")
        if amount is not None and self.customer is not None:
            event_id = (
                self._card.current_event.id if self._card and self._card.current_event else None
            )
            self._charge(self.customer.id, amount, event_id)

    @work(exclusive=True, group="sv-charge")
    async def _charge(self, customer_id: UUID, amount: int, event_id: str | None) -> None:
        line = TransactionLine(description="Stored value charge", unit_price=amount)
        tender = SaleLineTender(kind=TenderKind.STORED_VALUE, amount=amount)

        async def attempt(override: OverrideApproval | None) -> Saved | Declined | OverrideRequired:
            return await self.till.sale(
                customer_id, [line], [tender], event_id=event_id, override=override
            )

        what = f"Charge {self.money.format(amount)} to stored value"
        answer = await with_override(self.app, self.till, what, attempt)
        if answer is None:
            self.notice("sv-notice", "Not charged: the override was cancelled.")
        elif isinstance(answer, Declined):
            self.notice("sv-notice", f"Declined: {answer.reason}")
        else:
            self.query_one("#sv-charge-amount", Input).value = ""
            self.notice("sv-notice", f"Charged {self.money.format(amount)}: {answer.message}.")
            self.customer_changed()

    @on(Input.Submitted, "#sv-load-amount")
    @on(Button.Pressed, "#sv-load")
    def _load_pressed(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        amount = self._typed("sv-load-amount")
        if amount is not None and self.customer is not None:
            self._load(self.customer.id, amount)

    @work(exclusive=True, group="sv-load")
    async def _load(self, customer_id: UUID, amount: int) -> None:
        answer = await self.till.load_stored_value(customer_id, amount)
        if isinstance(answer, Offline):
            self.notice("sv-notice", answer.message)
        elif isinstance(answer, Declined):
            self.notice("sv-notice", f"Declined: {answer.reason}")
        else:
            self.query_one("#sv-load-amount", Input).value = ""
            self.notice("sv-notice", f"Loaded {self.money.format(amount)}: saved.")
            self.customer_changed()
