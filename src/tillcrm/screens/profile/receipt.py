"""A receipt on screen, and printing it again (a go-green customer's only when they ask).

The receipt is laid out by the headless `tillcrm.receipts` for the preview and the printer
alike; the reprint runs in a worker through `screens._printing.print_receipt`.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tillcrm.api import Receipt
from tillcrm.receipts import PrintedReceipt, ReceiptPrinter, receipt_text
from tillcrm.screens._printing import print_receipt
from tillcrm.widgets.money import MoneyFormat

__all__ = ["ReceiptScreen"]

_WIDTH = 42
"""Characters per line of the preview: an 80 mm receipt printer's standard font."""


class ReceiptScreen(ModalScreen[None]):
    """One receipt; `p` reprints it (a go-green customer's on the second press: the customer
    asked)."""

    CSS_PATH = "profile.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "print", "Print"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self, receipt: Receipt, money: MoneyFormat, printer: ReceiptPrinter | None
    ) -> None:
        super().__init__()
        self._receipt = PrintedReceipt.of_record(receipt)
        self._text = receipt_text(self._receipt, money, _WIDTH)
        self._printer = printer
        self._asked = False
        """P was pressed once already: for a go-green customer, the customer's request."""

    def compose(self) -> ComposeResult:
        """The receipt text, a go-green note where it applies, and the buttons."""
        with Vertical():
            with VerticalScroll():
                yield Static(self._text, id="receipt-text")
            note = "Go green: no printed receipts for this customer."
            yield Static(note if self._receipt.go_green else "", id="print-result")
            with Horizontal():
                yield Button("Print", id="print", compact=True)
                yield Button("Close", id="close", variant="primary", compact=True)

    @on(Button.Pressed, "#print")
    def action_print(self) -> None:
        """Reprint in a worker; a go-green customer's receipt once P is pressed again."""
        asked, self._asked = self._asked, True
        self._print(asked)

    @work(exclusive=True, group="print")
    async def _print(self, asked: bool) -> None:
        result = self.query_one("#print-result", Static)
        result.update(
            await print_receipt(
                self._printer, self._receipt, asked=asked, retry="press P when it is back"
            )
        )

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Back to the history."""
        self.dismiss(None)
