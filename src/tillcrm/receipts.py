"""A receipt as the customer gets it: what is on it, and its lines at the printer's width.

`PrintedReceipt` holds the receipt's content in the cashier's words (names, not ids; money in
minor units): the till builds one from the sale it just recorded (`TillService.sale_receipt`)
and one from the CRM's record for a reprint (`PrintedReceipt.of_record`). `receipt_lines` lays
it out once, for the screen's preview and for the ESC/POS driver alike; the driver adds the
receipt number as a barcode and the cut. Headless: no Textual, no device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol
from zoneinfo import ZoneInfo

from tillcrm.api import Receipt
from tillcrm.domain import Tender, TransactionLine
from tillcrm.domain.formats import format_moment
from tillcrm.domain.money_format import MoneyFormat

__all__ = [
    "LineStyle",
    "PrintedReceipt",
    "PrinterOffline",
    "PrinterOutOfPaper",
    "PrinterProblem",
    "ReceiptLine",
    "ReceiptPrinter",
    "receipt_lines",
    "receipt_text",
]


@dataclass(frozen=True)
class PrintedReceipt:
    """One transaction as printed; the balances after it are known only for a sale just made
    at this till (a reprint from the CRM's record leaves them out)."""

    number: str
    """Printed, and encoded as the barcode."""
    at: datetime
    """When the sale was made, at the store's local time."""
    store: str
    till: str
    cashier: str | None
    currency: str
    items: Sequence[TransactionLine]
    tenders: Sequence[Tender]
    points_earned: int
    points_redeemed: int
    points_balance: int | None = None
    """The customer's points after the sale (with the points it earned)."""
    stored_value_balance: int | None = None
    """Minor units left on the stored-value card after the sale."""
    go_green: bool = False
    """The customer asked for no paper: printed only when they ask at the till."""

    @property
    def total(self) -> int:
        """The lines' sum, in minor units."""
        return sum(item.total for item in self.items)

    @classmethod
    def of_record(cls, receipt: Receipt) -> PrintedReceipt:
        """The CRM's record of a transaction, as reprinted."""
        return cls(
            number=receipt.number,
            at=receipt.at.astimezone(ZoneInfo(receipt.store.timezone)),
            store=receipt.store.name,
            till=receipt.till_name,
            cashier=receipt.operator_name,
            currency=receipt.currency,
            items=receipt.lines,
            tenders=receipt.tenders,
            points_earned=receipt.points_earned,
            points_redeemed=receipt.points_redeemed,
            go_green=receipt.go_green,
        )


class LineStyle(Enum):
    """How a printer sets a line: the store's name stands out, the total is bold."""

    TITLE = "title"
    PLAIN = "plain"
    TOTAL = "total"


@dataclass(frozen=True)
class ReceiptLine:
    """One printed line, already padded to the width."""

    text: str
    style: LineStyle = LineStyle.PLAIN


def _pair(left: str, right: str, width: int) -> str:
    """`left` and `right` on one line; a left part too long is cut so `right` (money) stays."""
    room = max(width - len(right) - 1, 1)
    left = left if len(left) <= room else left[: room - 1] + "~"
    return f"{left}{' ' * (width - len(left) - len(right))}{right}"


def receipt_lines(receipt: PrintedReceipt, money: MoneyFormat, width: int) -> list[ReceiptLine]:
    """The receipt's lines: store, number and time (in the till's locale), till and cashier,
    items, total, tenders, points and the balances after the sale."""
    cur = receipt.currency

    def pair(left: str, right: str) -> ReceiptLine:
        return ReceiptLine(_pair(left, right, width))

    number = f"Receipt {receipt.number}"
    at = format_moment(receipt.at, receipt.at.tzinfo or UTC, money.locale)
    # The number is never cut: on a narrow roll the time goes on a line of its own.
    fits = len(number) + 1 + len(at) <= width
    lines = [
        ReceiptLine(receipt.store[:width].center(width).rstrip(), LineStyle.TITLE),
        *([pair(number, at)] if fits else [ReceiptLine(number), ReceiptLine(at.rjust(width))]),
        pair(receipt.till, receipt.cashier or ""),
        ReceiptLine(""),
    ]
    lines += [
        pair(f"{item.quantity} x {item.description}", money.format(item.total, cur))
        for item in receipt.items
    ]
    lines += [
        ReceiptLine(""),
        ReceiptLine(_pair("TOTAL", money.format(receipt.total, cur), width), LineStyle.TOTAL),
    ]
    lines += [
        pair(f"  {tender.kind.value.replace('_', ' ')}", money.format(tender.amount, cur))
        for tender in receipt.tenders
    ]
    if receipt.points_earned or receipt.points_redeemed:
        lines.append(
            pair(
                "Points earned / redeemed", f"+{receipt.points_earned} / -{receipt.points_redeemed}"
            )
        )
    if receipt.points_balance is not None:
        lines.append(pair("Points balance", str(receipt.points_balance)))
    if receipt.stored_value_balance is not None:
        lines.append(pair("Stored value left", money.format(receipt.stored_value_balance, cur)))
    return lines


def receipt_text(receipt: PrintedReceipt, money: MoneyFormat, width: int) -> str:
    """The receipt's lines as plain text (the screen's preview)."""
    return "\n".join(line.text for line in receipt_lines(receipt, money, width))


class PrinterProblem(Exception):
    """The receipt did not print; `str()` is what the cashier reads, `detail` what failed."""

    headline = "The printer failed"

    def __init__(self, detail: str) -> None:
        super().__init__(self.headline)
        self.detail = " ".join(detail.split())
        """On one line (python-escpos's messages span several)."""


class PrinterOffline(PrinterProblem):
    """The printer cannot be reached: unplugged, switched off, refused the connection."""

    headline = "Printer offline"


class PrinterOutOfPaper(PrinterProblem):
    """The printer's paper sensor reports the roll is out."""

    headline = "Printer out of paper"


class ReceiptPrinter(Protocol):
    """Something that prints receipts (`tillcrm.devices.printer.EscposPrinter`)."""

    @property
    def where(self) -> str:
        """The printer as the cashier knows it (`serial /dev/ttyUSB2`, `file /tmp/r.bin`)."""
        ...

    def print_receipt(self, receipt: PrintedReceipt) -> None:
        """Print `receipt`, blocking until the printer took it; raises `PrinterProblem`."""
        ...
