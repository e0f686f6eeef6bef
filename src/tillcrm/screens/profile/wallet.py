"""The Wallet tab: saved payment cards, masked; add, update and delete, online only.

A typed card number goes straight to the CRM, which tokenizes it; the till keeps only brand,
last four and expiry (PCI DSS 3.3, 3.4), and never writes the number to disk or a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from pydantic import SecretStr, ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from tillcrm.api import CustomerOut, WalletAdd, WalletCardOut, WalletUpdate
from tillcrm.screens._text import input_problem
from tillcrm.screens.profile._tab import ProfileContext, ProfileTab
from tillcrm.till import Declined, Offline
from tillcrm.widgets.compact_input import CompactInput

__all__ = ["WalletCardForm", "WalletTab"]

_CHECK_CARD = "Check the card number and the expiry (month 1-12, four-digit year)."


@dataclass(frozen=True)
class _CardFields:
    number: str
    exp_month: str
    exp_year: str
    label: str


class WalletCardForm(ModalScreen[WalletAdd | WalletUpdate | None]):
    """A new card (number, expiry, label) or a saved card's expiry and label."""

    CSS_PATH = "profile.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, card: WalletCardOut | None = None) -> None:
        super().__init__()
        self._card = card

    def compose(self) -> ComposeResult:
        """The fields; a saved card's number cannot change, only its expiry and label."""
        card = self._card
        with Vertical():
            title = "Add card" if card is None else f"Update {card.brand} ****{card.last4}"
            yield Label(title)
            if card is None:
                yield CompactInput(placeholder="Card number", password=True, id="card-number")
            with Horizontal():
                yield CompactInput(
                    str(card.exp_month) if card else "",
                    placeholder="MM",
                    id="card-month",
                    classes="third",
                )
                yield CompactInput(
                    str(card.exp_year) if card else "",
                    placeholder="YYYY",
                    id="card-year",
                    classes="third",
                )
                yield CompactInput(
                    card.label if card else "",
                    placeholder="Label",
                    id="card-label",
                    classes="third",
                )
            yield Static("", id="card-error")
            with Horizontal():
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Validate and hand the request back; the number never leaves the SecretStr."""
        fields = _CardFields(
            number=self.query_one("#card-number", Input).value if self._card is None else "",
            exp_month=self.query_one("#card-month", Input).value.strip(),
            exp_year=self.query_one("#card-year", Input).value.strip(),
            label=self.query_one("#card-label", Input).value.strip(),
        )
        error = self.query_one("#card-error", Static)
        try:
            request = self._request(fields)
        except ValidationError as bad:
            error.update(input_problem(bad, _CHECK_CARD))
            return
        except ValueError:  # the month or year is no number
            error.update(_CHECK_CARD)
            return
        self.dismiss(request)

    def _request(self, fields: _CardFields) -> WalletAdd | WalletUpdate:
        if self._card is None:
            return WalletAdd(
                card_number=SecretStr(fields.number.replace(" ", "")),
                exp_month=int(fields.exp_month),
                exp_year=int(fields.exp_year),
                label=fields.label,
            )
        return WalletUpdate(
            exp_month=int(fields.exp_month), exp_year=int(fields.exp_year), label=fields.label
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Nothing saved."""
        self.dismiss(None)


class WalletTab(ProfileTab):
    """Saved cards: brand, last four, expiry, label."""

    def __init__(self, context: ProfileContext, *, id: str) -> None:
        super().__init__(context, id=id)
        self._cards: dict[str, WalletCardOut] = {}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_card", "Add card"),
        Binding("u", "update_card", "Update card"),
        Binding("delete", "delete_card", "Delete card"),
    ]

    def compose(self) -> ComposeResult:
        """The grid and a notice line."""
        yield Static("", id="wallet-notice", classes="notice")
        table: DataTable[str] = DataTable(id="wallet-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Card", "Expires", "Label")
        yield table
        yield Static("a: add card   u: update   Delete: delete", classes="actions")

    async def load(self, customer: CustomerOut) -> None:
        """The saved cards, from the CRM."""
        answer = await self.till.wallet(customer.id)
        table = self.query_one("#wallet-table", DataTable)
        table.clear()
        self._cards = {}
        if isinstance(answer, Offline):
            self.notice("wallet-notice", answer.message)
            return
        self.notice("wallet-notice", "" if answer else "No saved cards.")
        for card in answer:
            self._cards[str(card.id)] = card
            table.add_row(
                f"{card.brand} ****{card.last4}",
                f"{card.exp_month:02d}/{card.exp_year}",
                card.label,
                key=str(card.id),
            )

    def _selected(self) -> WalletCardOut | None:
        return self._cards.get(self.selected_key("wallet-table") or "")

    def action_add_card(self) -> None:
        """Ask for a new card and save it through the CRM."""
        self.app.push_screen(WalletCardForm(), self._saved_form)

    def action_update_card(self) -> None:
        """Change the selected card's expiry or label."""
        card = self._selected()
        if card is not None:
            self.app.push_screen(WalletCardForm(card), self._saved_form)

    def _saved_form(self, request: WalletAdd | WalletUpdate | None) -> None:
        if request is not None and self.customer is not None:
            self.run_worker(self._send(self.customer.id, request, self._selected()))

    async def _send(
        self, customer_id: UUID, request: WalletAdd | WalletUpdate, card: WalletCardOut | None
    ) -> None:
        if isinstance(request, WalletAdd):
            answer = await self.till.add_wallet_card(customer_id, request)
        else:
            assert card is not None
            answer = await self.till.update_wallet_card(customer_id, card.id, request)
        self._report(answer, "card saved")

    def action_delete_card(self) -> None:
        """Delete the selected card after a confirmation."""
        card = self._selected()
        if card is None or self.customer is None:
            return
        customer_id = self.customer.id
        self.confirm_then(
            f"Delete {card.brand} ****{card.last4} from the wallet?",
            lambda: self.run_worker(self._delete(customer_id, card.id)),
        )

    async def _delete(self, customer_id: UUID, card_id: UUID) -> None:
        self._report(await self.till.remove_wallet_card(customer_id, card_id), "card deleted")

    def _report(self, answer: object, done: str) -> None:
        if isinstance(answer, Offline):
            self.notify_result(answer.message, error=True)
        elif isinstance(answer, Declined):
            self.notify_result(answer.reason, error=True)
        else:
            self.notify_result(done)
            self.reload()
