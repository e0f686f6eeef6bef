"""The receipt printer on a real pseudo-terminal: a thread plays the printer, answering the
paper-status query and keeping every byte the till sends, so the tests check the ESC/POS job
as a printer receives it through python-escpos's serial driver (pyserial)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.printer import CUT, PAPER_OK, PAPER_OUT, PAPER_QUERY, PtyPrinter
from tillcrm.config import PrinterKind, PrinterSettings
from tillcrm.devices._escpos import escpos_job
from tillcrm.devices.printer import EscposPrinter, open_printer
from tillcrm.domain import Tender, TenderKind, TransactionLine
from tillcrm.domain.money_format import MoneyFormat
from tillcrm.receipts import PrintedReceipt, PrinterOffline, PrinterOutOfPaper, receipt_text

MONEY = MoneyFormat("en_US", "USD")


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter(PAPER_OK)
    yield printer
    printer.close()


def _receipt() -> PrintedReceipt:
    return PrintedReceipt(
        number="00000042",
        at=datetime(2026, 12, 7, 18, 30, tzinfo=UTC),
        store="Arena Main Store",
        till="Till 3",
        cashier="Casey Cashier",
        currency="USD",
        items=[
            TransactionLine(description="Hot dog", quantity=2, unit_price=450),
            TransactionLine(description="Soda", unit_price=300),
        ],
        tenders=[
            Tender(kind=TenderKind.POINTS, amount=200),
            Tender(kind=TenderKind.CARD, amount=1000),
        ],
        points_earned=10,
        points_redeemed=20,
        points_balance=130,
        stored_value_balance=2_550,
    )


def _serial(port: str, **changes: object) -> EscposPrinter:
    settings = PrinterSettings(kind=PrinterKind.SERIAL, device=port, timeout=1, **changes)
    return EscposPrinter(settings, MONEY)


def test_a_receipt_reaches_a_serial_printer_as_escpos(pty_printer: PtyPrinter) -> None:
    _serial(pty_printer.port).print_receipt(_receipt())
    job = pty_printer.job()
    assert job.startswith(PAPER_QUERY + b"\x1b@"), "paper asked first, then ESC @ (init)"
    text = job.decode("cp437")
    for shown in (
        "Arena Main Store",
        "Receipt 00000042",
        "Dec 7, 2026, 6:30\xa0PM",
        "Till 3",
        "Casey Cashier",
        "2 x Hot dog",
        "$9.00",
        "TOTAL",
        "$12.00",
        "points",
        "$2.00",
        "+10 / -20",
        "Points balance",
        "130",
        "Stored value left",
        "$25.50",
    ):
        assert shown in text
    assert b"\x1dkI\x0a{B00000042" in job, "GS k 73 (Code 128), 10 bytes: {B and the number"
    assert job.endswith(CUT)
    assert b"\x1bE\x01" in job, "the store's name and the total are bold"


def test_the_job_is_the_same_bytes_the_preview_lays_out() -> None:
    job = escpos_job(_receipt(), MONEY, 42)
    for line in receipt_text(_receipt(), MONEY, 42).splitlines():
        assert line.strip().encode("cp437") in job
    narrow = receipt_text(_receipt(), MONEY, 32).splitlines()
    assert max(len(line) for line in narrow) <= 32
    assert "Receipt 00000042" in narrow, "the number is never cut: the time moves down a line"


def test_a_printer_out_of_paper_gets_nothing_but_the_query() -> None:
    printer = PtyPrinter(PAPER_OUT)
    try:
        with pytest.raises(PrinterOutOfPaper) as raised:
            _serial(printer.port).print_receipt(_receipt())
        assert str(raised.value) == "Printer out of paper"
        assert printer.received == PAPER_QUERY, "the answer came after the query was read"
    finally:
        printer.close()


def test_a_missing_serial_port_is_offline(tmp_path: Path) -> None:
    with pytest.raises(PrinterOffline) as raised:
        _serial(str(tmp_path / "ttyUSB9")).print_receipt(_receipt())
    assert str(raised.value) == "Printer offline"
    assert "ttyUSB9" in raised.value.detail


def test_a_network_printer_that_refuses_is_offline() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = PrinterSettings(kind=PrinterKind.NETWORK, host="127.0.0.1", port=port, timeout=1)
    printer = EscposPrinter(settings, MONEY)
    with pytest.raises(PrinterOffline):
        printer.print_receipt(_receipt())
    with pytest.raises(PrinterOffline):
        printer.check()


def test_a_network_printer_gets_the_job_over_tcp() -> None:
    received: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                data = b""
                while CUT not in data:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if data.endswith(PAPER_QUERY):
                        connection.sendall(PAPER_OK)
                received.append(data)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = server.getsockname()[1]
        settings = PrinterSettings(kind=PrinterKind.NETWORK, host="127.0.0.1", port=port)
        EscposPrinter(settings, MONEY).print_receipt(_receipt())
        thread.join(5)
    assert received[0].startswith(PAPER_QUERY + b"\x1b@")
    assert received[0].endswith(CUT)


def test_a_file_printer_holds_the_last_receipt_and_none_is_no_printer(tmp_path: Path) -> None:
    paper = tmp_path / "receipt.bin"
    printer = open_printer(PrinterSettings(kind=PrinterKind.FILE, device=str(paper)), MONEY)
    assert printer is not None
    assert printer.where == f"file {paper}"
    printer.print_receipt(_receipt())
    assert paper.read_bytes() == escpos_job(_receipt(), MONEY, 42)
    assert open_printer(PrinterSettings(), MONEY) is None
