"""The ESC/POS receipt printer, on python-escpos: serial, USB, network, a file, or memory.

A receipt is rendered once into ESC/POS bytes (`escpos_job`: init, the lines of
`receipt_lines`, the number as a Code 128 barcode, the cut) and sent in one write, so a printer
that goes away mid-receipt fails the whole job rather than printing half of it. Before the
write the paper sensor is asked (DLE EOT 4) where the transport can answer. Every failure is a
`PrinterProblem` in the cashier's words; printing blocks, so the UI runs it in a worker.
"""

from __future__ import annotations

from typing import Any

from escpos.constants import RT_STATUS_PAPER
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy, File, Network, Serial, Usb
from usb.core import USBTimeoutError

from tillcrm.config import PrinterKind, PrinterSettings
from tillcrm.domain.money_format import MoneyFormat
from tillcrm.receipts import (
    LineStyle,
    PrintedReceipt,
    PrinterOffline,
    PrinterOutOfPaper,
    PrinterProblem,
    receipt_lines,
)

__all__ = ["EscposPrinter", "escpos_job", "open_printer"]

_ANSWERS = (PrinterKind.SERIAL, PrinterKind.USB, PrinterKind.NETWORK)
"""Transports a printer can answer a status query over."""

_PAPER_END = 0x60
"""Bits 5 and 6 of the answer to DLE EOT 4: the paper-end sensor finds no paper."""


def escpos_job(receipt: PrintedReceipt, money: MoneyFormat, width: int) -> bytes:
    """The receipt as the ESC/POS bytes a printer is sent."""
    job = Dummy()
    job.hw("INIT")
    for line in receipt_lines(receipt, money, width):
        if line.style is LineStyle.TITLE:
            job.set(align="center", bold=True, double_height=True)
        elif line.style is LineStyle.TOTAL:
            job.set(bold=True)
        job.text(line.text + "\n")
        if line.style is not LineStyle.PLAIN:
            job.set(align="left", bold=False, normal_textsize=True)
    job.ln()
    # The hardware barcode directly: `barcode()` also prints a note to stdout, which is the
    # till's terminal. Function B (GS k 73 n) takes Code 128 with its code set, "{B".
    job._hw_barcode("{B" + receipt.number, "CODE128", height=64, width=2, function_type="B")
    job.cut()
    return bytes(job.output)


class EscposPrinter:
    """The till's receipt printer as `[printer]` describes it."""

    def __init__(self, settings: PrinterSettings, money: MoneyFormat) -> None:
        self._settings = settings
        self._money = money
        self.printed: list[bytes] = []
        """The jobs a `dummy` printer took (empty for every other kind)."""

    @property
    def where(self) -> str:
        """The kind and address, as the cashier and the doctor name the printer."""
        s = self._settings
        if s.kind is PrinterKind.NETWORK:
            return f"network {s.host}:{s.port}"
        if s.kind is PrinterKind.USB:
            return f"usb {s.usb_vid or 0:04x}:{s.usb_pid or 0:04x}"
        if s.kind is PrinterKind.DUMMY:
            return "dummy (memory)"
        return f"{s.kind.value} {s.device}"

    def print_receipt(self, receipt: PrintedReceipt) -> None:
        """Print `receipt`; raises `PrinterOffline` or `PrinterOutOfPaper`."""
        job = escpos_job(receipt, self._money, self._settings.width)
        if self._settings.kind is PrinterKind.DUMMY:
            self.printed.append(job)
            return
        self._send(job)

    def check(self) -> bool:
        """Connect and ask for paper, printing nothing; raises `PrinterProblem` (the doctor's
        check). False when the printer cannot be asked: a file or dummy printer is not opened
        (opening a file empties it)."""
        if self._settings.kind not in _ANSWERS:
            return False
        self._send(None)
        return True

    def _send(self, job: bytes | None) -> None:
        """Connect, check the paper (where the printer can answer), write `job`, close."""
        printer = self._connect()
        try:
            if self._settings.kind in _ANSWERS and (self._settings.paper_check or job is None):
                self._check_paper(printer)
            if job is not None:
                printer._raw(job)
        except (DeviceNotFoundError, OSError) as error:
            raise PrinterOffline(str(error)) from error
        finally:
            printer.close()

    def _connect(self) -> Any:
        """An open python-escpos printer; raises `PrinterOffline`."""
        s = self._settings
        printer: Any
        if s.kind is PrinterKind.SERIAL:
            printer = Serial(devfile=s.device, baudrate=s.baudrate, timeout=s.timeout)
        elif s.kind is PrinterKind.USB:
            printer = Usb(s.usb_vid, s.usb_pid, timeout=int(s.timeout * 1000))
        elif s.kind is PrinterKind.NETWORK:
            printer = Network(s.host, port=s.port, timeout=s.timeout)
        elif s.kind is PrinterKind.FILE:
            printer = File(s.device)
        else:
            raise PrinterProblem(f"no printer of kind {s.kind.value}")
        try:
            printer.open()
        except (DeviceNotFoundError, OSError) as error:
            raise PrinterOffline(str(error)) from error
        if s.kind is PrinterKind.SERIAL:
            # A printer holding the line busy fails the write instead of hanging the worker.
            printer.device.write_timeout = s.timeout
        return printer

    def _check_paper(self, printer: Any) -> None:
        """Raise `PrinterOutOfPaper` when the paper sensor says so; a printer that does not
        answer in time is taken to have paper (many never answer).

        The one status byte is read by itself: python-escpos's `paper_status` reads 16 bytes,
        which over a serial line always waits the whole timeout."""
        printer._raw(RT_STATUS_PAPER)
        try:
            serial = self._settings.kind is PrinterKind.SERIAL
            answer = printer.device.read(1) if serial else printer._read()
        except (TimeoutError, USBTimeoutError):
            return
        if answer and answer[0] & _PAPER_END == _PAPER_END:
            raise PrinterOutOfPaper(f"the paper sensor answered {answer[0]:#04x}")


def open_printer(settings: PrinterSettings, money: MoneyFormat) -> EscposPrinter | None:
    """The configured printer, or None when the till has none (`kind = "none"`)."""
    if settings.kind is PrinterKind.NONE:
        return None
    return EscposPrinter(settings, money)
