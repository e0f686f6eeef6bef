"""The ESC/POS receipt printer, on python-escpos: serial, USB, network, a file, or memory.

A receipt is rendered once into ESC/POS bytes (`escpos_job`: init, the lines of
`receipt_lines`, the number as a Code 128 barcode, the cut) and sent in one write, so a printer
that goes away mid-receipt fails the whole job rather than printing half of it. Before the
write the paper sensor is asked (DLE EOT 4) where the transport can answer. Every failure is a
`PrinterProblem` in the cashier's words; printing blocks, so the UI runs it in a worker, and
that worker is where python-escpos is first imported (`tillcrm.devices._escpos`).
"""

from __future__ import annotations

from tillcrm.config import PrinterKind, PrinterSettings
from tillcrm.domain.money_format import MoneyFormat
from tillcrm.receipts import PrintedReceipt

__all__ = ["EscposPrinter", "open_printer"]


class EscposPrinter:
    """The till's receipt printer as `[printer]` describes it."""

    def __init__(self, settings: PrinterSettings, money: MoneyFormat) -> None:
        self._settings = settings
        self._money = money

    @property
    def where(self) -> str:
        """The kind and address, as the cashier and the doctor name the printer."""
        s = self._settings
        if s.kind is PrinterKind.NETWORK:
            return f"network {s.host}:{s.port}"
        if s.kind is PrinterKind.USB:
            return f"usb {s.usb_vid or 0:04x}:{s.usb_pid or 0:04x}"
        if s.kind is PrinterKind.DUMMY:
            return "dummy (discards every job)"
        return f"{s.kind.value} {s.device}"

    def print_receipt(self, receipt: PrintedReceipt) -> None:
        """Print `receipt`; raises `PrinterOffline` or `PrinterOutOfPaper`."""
        from tillcrm.devices._escpos import escpos_job, send

        job = escpos_job(receipt, self._money, self._settings.width)
        if self._settings.kind is not PrinterKind.DUMMY:  # a dummy takes the job, keeps none
            send(self._settings, job)

    def check(self) -> bool:
        """Connect and ask for paper, printing nothing; raises `PrinterProblem` (the doctor's
        check). False when the printer cannot be asked: a file or dummy printer is not opened
        (opening a file empties it)."""
        from tillcrm.devices._escpos import ANSWERS, send

        if self._settings.kind not in ANSWERS:
            return False
        send(self._settings, None)
        return True


def open_printer(settings: PrinterSettings, money: MoneyFormat) -> EscposPrinter | None:
    """The configured printer, or None when the till has none (`kind = "none"`)."""
    if settings.kind is PrinterKind.NONE:
        return None
    return EscposPrinter(settings, money)
