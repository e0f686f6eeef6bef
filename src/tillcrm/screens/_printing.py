"""Printing a receipt from a screen: off the UI thread, go-green respected, every outcome in
one line for the cashier. The sale panel (print after the sale) and the receipt screen (a
reprint from the history) both print through `print_receipt`.
"""

from __future__ import annotations

import asyncio
import logging

from tillcrm.receipts import PrintedReceipt, PrinterProblem, ReceiptPrinter

__all__ = ["GO_GREEN", "NO_PRINTER", "print_receipt"]

log = logging.getLogger(__name__)

GO_GREEN = "Go green: no paper receipt. P prints one if the customer asks."
NO_PRINTER = "No receipt printer is set up on this till."


async def print_receipt(
    printer: ReceiptPrinter | None, receipt: PrintedReceipt, *, asked: bool, retry: str
) -> str:
    """Print `receipt` in a thread and say what happened.

    A go-green customer's receipt prints only when `asked` (the customer asked at the till);
    `retry` ends the message of a failure (what the cashier does next)."""
    if receipt.go_green and not asked:
        return GO_GREEN
    if printer is None:
        return NO_PRINTER
    try:
        await asyncio.to_thread(printer.print_receipt, receipt)
    except PrinterProblem as problem:
        log.warning(
            "receipt %s not printed on %s: %s", receipt.number, printer.where, problem.detail
        )
        return f"{problem}: {retry}."
    return f"Receipt {receipt.number} printed ({printer.where})."
