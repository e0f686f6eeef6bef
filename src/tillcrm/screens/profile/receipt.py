"""A receipt on screen, and printing it again unless the customer went green.

Printers sit behind `ReceiptPrinter`, one method taking the receipt's text. The demo and the
tests use `TextFilePrinter` (each receipt appended to a file); an ESC/POS printer is another
implementation of the same protocol, added where python-escpos is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol
from zoneinfo import ZoneInfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tillcrm.api import Receipt
from tillcrm.widgets.money import MoneyFormat

__all__ = ["ReceiptPrinter", "ReceiptScreen", "TextFilePrinter", "receipt_text"]

_WIDTH = 42
"""Characters per line of an 80 mm receipt printer's standard font."""


class ReceiptPrinter(Protocol):
    """Something that prints a receipt's text."""

    def print_receipt(self, text: str) -> None:
        """Print `text`; raises `OSError` when the printer cannot."""


class TextFilePrinter:
    """A printer that appends each receipt to a text file, with a cut line between them."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def print_receipt(self, text: str) -> None:
        """Append `text` and a cut line."""
        with self.path.open("a", encoding="utf-8") as paper:
            paper.write(text + "\n" + "-" * _WIDTH + " cut\n")


def _line(left: str, right: str) -> str:
    space = max(_WIDTH - len(left) - len(right), 1)
    return f"{left}{' ' * space}{right}"


def receipt_text(receipt: Receipt, money: MoneyFormat) -> str:
    """The receipt as printed: store, number (at the store's local time), lines, total,
    tenders, points."""
    zone = ZoneInfo(receipt.store.timezone)
    cur = receipt.currency
    lines = [
        receipt.store.name.center(_WIDTH).rstrip(),
        _line(f"Receipt {receipt.number}", f"{receipt.at.astimezone(zone):%Y-%m-%d %H:%M}"),
        _line(receipt.till_name, receipt.operator_name or ""),
        "",
    ]
    for item in receipt.lines:
        lines.append(_line(f"{item.quantity} x {item.description}", money.format(item.total, cur)))
    lines += ["", _line("TOTAL", money.format(receipt.total, cur))]
    for tender in receipt.tenders:
        lines.append(
            _line(f"  {tender.kind.value.replace('_', ' ')}", money.format(tender.amount, cur))
        )
    if receipt.points_earned or receipt.points_redeemed:
        lines.append(_line("Points", f"+{receipt.points_earned} / -{receipt.points_redeemed}"))
    return "\n".join(lines)


class ReceiptScreen(ModalScreen[None]):
    """One receipt; `p` reprints it, which a go-green customer's receipt refuses."""

    DEFAULT_CSS = """
    ReceiptScreen { align: center middle; }
    ReceiptScreen > Vertical {
        width: 50; height: auto; max-height: 22; border: thick $primary; background: $surface;
    }
    ReceiptScreen VerticalScroll { height: auto; max-height: 16; padding: 0 1; }
    ReceiptScreen #print-result { height: auto; padding: 0 1; }
    ReceiptScreen Horizontal { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "print", "Print"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self, receipt: Receipt, money: MoneyFormat, printer: ReceiptPrinter | None
    ) -> None:
        super().__init__()
        self._receipt = receipt
        self._text = receipt_text(receipt, money)
        self._printer = printer

    def compose(self) -> ComposeResult:
        """The receipt text, a go-green note where it applies, and the buttons."""
        with Vertical():
            with VerticalScroll():
                yield Static(self._text, id="receipt-text")
            note = (
                "Go green: no printed receipts for this customer." if self._receipt.go_green else ""
            )
            yield Static(note, id="print-result")
            with Horizontal():
                yield Button("Print", id="print", disabled=self._receipt.go_green, compact=True)
                yield Button("Close", id="close", variant="primary", compact=True)

    @on(Button.Pressed, "#print")
    def action_print(self) -> None:
        """Reprint, unless the customer is go-green or no printer is set up."""
        result = self.query_one("#print-result", Static)
        if self._receipt.go_green:
            result.update("Go green: no printed receipts for this customer.")
        elif self._printer is None:
            result.update("No receipt printer is set up on this till.")
        else:
            try:
                self._printer.print_receipt(self._text)
            except OSError as error:
                result.update(f"The printer failed: {error}")
                return
            result.update("Printed.")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Back to the history."""
        self.dismiss(None)
