"""The python-escpos side of the receipt printer: the job's bytes and one send over a transport.

Kept apart from `tillcrm.devices.printer` because python-escpos (with Pillow, qrcode and
pyusb) takes a fifth of a second to import: a till pays it in the print worker the first time
it prints, not between the PIN's Enter and the identify screen.
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

__all__ = ["ANSWERS", "escpos_job", "send"]

ANSWERS = (PrinterKind.SERIAL, PrinterKind.USB, PrinterKind.NETWORK)
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


def send(s: PrinterSettings, job: bytes | None) -> None:
    """Connect, check the paper (where the printer can answer), write `job`, close."""
    printer = _connect(s)
    try:
        if s.kind in ANSWERS and (s.paper_check or job is None):
            _check_paper(s, printer)
        if job is not None:
            printer._raw(job)
    except (DeviceNotFoundError, OSError) as error:
        raise PrinterOffline(str(error)) from error
    finally:
        printer.close()


def _connect(s: PrinterSettings) -> Any:
    """An open python-escpos printer; raises `PrinterOffline`."""
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


def _check_paper(s: PrinterSettings, printer: Any) -> None:
    """Raise `PrinterOutOfPaper` when the paper sensor says so; a printer that does not
    answer in time is taken to have paper (many never answer).

    The one status byte is read by itself: python-escpos's `paper_status` reads 16 bytes,
    which over a serial line always waits the whole timeout."""
    printer._raw(RT_STATUS_PAPER)
    try:
        serial = s.kind is PrinterKind.SERIAL
        answer = printer.device.read(1) if serial else printer._read()
    except (TimeoutError, USBTimeoutError):
        return
    if answer and answer[0] & _PAPER_END == _PAPER_END:
        raise PrinterOutOfPaper(f"the paper sensor answered {answer[0]:#04x}")
