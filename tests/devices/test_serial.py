"""Readers on real pseudo-terminals through pyserial: what a simulated reader writes arrives as
events, an unplug is reported and a replug reconnects, and a port is never shared."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from tests.support.devices import QUICK, EventLog, reading
from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.errors import PortError, PortInUseError
from tillcrm.devices.events import DeviceEvent, Identified, LinkState, Rejected
from tillcrm.devices.manager import DeviceManager
from tillcrm.devices.reader import Backoff, find_port, open_port
from tillcrm.devices.simulator import SimulatedReader, SimulatorError, barcode_frame, tap_frame
from tillcrm.domain import IdentifierKind

Simulator = Callable[..., SimulatedReader]

VISA_T1 = "B4111111111111111^DOE/JOHN^2512101000000000000"
VISA_T2 = "4111111111111111=25121010000000000000"


def test_a_scan_arrives_as_an_identification(events: EventLog, simulator: Simulator) -> None:
    sim = simulator("barcode", name="scanner")
    with reading(events, sim.settings()):
        sim.scan("4006381333931")
        sim.scan("LOYALTY-42")
        assert events.next_read() == Identified(
            IdentifierKind.BARCODE, "4006381333931", "scanner", "]E0"
        )
        assert events.next_read() == Identified(
            IdentifierKind.BARCODE, "LOYALTY-42", "scanner", "]C0"
        )


@pytest.mark.parametrize("framing", ["magtek", "idtech", "iso"])
def test_a_swipe_arrives_in_every_framing(
    events: EventLog, simulator: Simulator, framing: str
) -> None:
    sim = simulator("magstripe", name="msr", swipe_framing=framing)
    with reading(events, sim.settings()):
        sim.swipe(track1="A6001234567^SMITH/JANE^", track2="6001234567")
        assert events.next_read() == Identified(IdentifierKind.MAGSTRIPE, "6001234567", "msr")


@pytest.mark.parametrize(
    ("contactless_format", "byte_order"),
    [("rdm6300", "big"), ("hex", "little"), ("decimal", "big")],
)
def test_a_tap_arrives_as_upper_case_hex(
    events: EventLog, simulator: Simulator, contactless_format: str, byte_order: str
) -> None:
    sim = simulator(
        "contactless", name="rfid", contactless_format=contactless_format, byte_order=byte_order
    )
    with reading(events, sim.settings()):
        sim.tap("62e3086ced")
        assert events.next_read() == Identified(IdentifierKind.RFID, "62E3086CED", "rfid")


def test_a_payment_swipe_is_refused_and_never_logged(
    events: EventLog, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim = simulator("magstripe", name="msr")
    with caplog.at_level(logging.DEBUG), reading(events, sim.settings()):
        sim.swipe(track1=VISA_T1, track2=VISA_T2)
        assert events.next_read() == Rejected(
            "payment_card", "msr", "411111******1111", "payment card, not a loyalty card"
        )
    assert "rejected a read: payment_card" in caplog.text
    assert "4111111111111111" not in caplog.text
    assert "4111111111111111" not in repr(events.seen)


def test_two_frames_in_one_write_are_two_reads(events: EventLog, simulator: Simulator) -> None:
    sim = simulator("contactless", name="rfid")
    with reading(events, sim.settings()):
        sim.write(tap_frame("62E3086CED") + tap_frame("0A00B1C2D3"))
        assert events.next_read() == Identified(IdentifierKind.RFID, "62E3086CED", "rfid")
        assert events.next_read() == Identified(IdentifierKind.RFID, "0A00B1C2D3", "rfid")


def test_one_frame_over_many_writes_is_one_read(events: EventLog, simulator: Simulator) -> None:
    sim = simulator("barcode", name="scanner", terminator="CRLF")
    frame = barcode_frame("4006381333931", terminator="CRLF", symbology="]E0")
    with reading(events, sim.settings()):
        for byte in frame:
            sim.write(bytes([byte]))
            time.sleep(0.001)  # let the reader wake up between pieces, as on a slow line
        sim.scan("96385074")
        assert events.next_read() == Identified(
            IdentifierKind.BARCODE, "4006381333931", "scanner", "]E0"
        )
        assert events.next_read() == Identified(
            IdentifierKind.BARCODE, "96385074", "scanner", "]E4"
        )


def test_an_unplug_is_reported_and_a_replug_reconnects(
    events: EventLog, simulator: Simulator
) -> None:
    sim = simulator("barcode", name="scanner")
    with reading(events, sim.settings()):
        sim.unplug()
        assert "lost" in events.status(LinkState.DISCONNECTED).detail
        assert "no such port" in events.status(LinkState.ERROR).detail
        events.status(LinkState.RECONNECTING)
        with pytest.raises(SimulatorError, match="unplugged"):
            sim.scan("4006381333931")
        sim.replug()
        events.status(LinkState.CONNECTED)
        sim.scan("4006381333931")
        assert events.next_read() == Identified(
            IdentifierKind.BARCODE, "4006381333931", "scanner", "]E0"
        )
    assert events.status(LinkState.DISCONNECTED).detail == "stopped"


def test_the_same_port_opened_twice_names_the_port(simulator: Simulator) -> None:
    sim = simulator("barcode", name="scanner")
    held = open_port(sim.settings())
    try:
        with pytest.raises(PortInUseError) as caught:
            open_port(sim.settings())
    finally:
        held.close()
    assert caught.value.port == sim.port
    assert (
        str(caught.value) == f"port {sim.port} is in use by another program (another tillcrm till?)"
    )
    open_port(sim.settings()).close()  # free again once closed


def test_a_reader_on_a_held_port_reports_it_and_gets_it_once_free(
    events: EventLog, simulator: Simulator
) -> None:
    sim = simulator("barcode", name="scanner")
    held = open_port(sim.settings())
    with DeviceManager([sim.settings()], events, backoff=QUICK):
        error = events.status(LinkState.ERROR)
        assert (
            error.detail == f"port {sim.port} is in use by another program (another tillcrm till?)"
        )
        held.close()
        events.status(LinkState.CONNECTED)
        sim.scan("96385074")
        assert isinstance(events.next_read(), Identified)


def test_an_unopenable_url_is_a_port_error() -> None:
    device = DeviceSettings(name="x", kind=DeviceKind.BARCODE, url="nonsense://here")
    with pytest.raises(PortError, match="cannot open port nonsense://here"):
        open_port(device)


@pytest.fixture
def tcp_reader() -> Iterator[tuple[str, Callable[[], socket.socket]]]:
    """A serial-over-TCP reader (a socket:// URL) and a way to take its one connection."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(5)
        host, port = server.getsockname()
        yield f"socket://{host}:{port}", lambda: server.accept()[0]


def test_any_pyserial_url_works(
    events: EventLog, tcp_reader: tuple[str, Callable[[], socket.socket]]
) -> None:
    url, accept = tcp_reader
    device = DeviceSettings(name="net", kind=DeviceKind.BARCODE, url=url)
    with DeviceManager([device], events, backoff=QUICK):
        connection = accept()
        events.status(LinkState.CONNECTED)
        connection.sendall(b"4006381333931\r")
        assert events.next_read() == Identified(IdentifierKind.BARCODE, "4006381333931", "net")
        connection.close()
        events.status(LinkState.DISCONNECTED)


def test_one_callback_gets_every_reader_one_event_at_a_time(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    log = EventLog()
    inside = threading.Lock()
    overlaps = []

    def callback(event: DeviceEvent) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(event)
            return
        try:
            time.sleep(0.001)
            if isinstance(event, Identified) and event.value == "BOOM":
                raise RuntimeError("a bug in the UI")
            log(event)
        finally:
            inside.release()

    scanner, rfid = simulator("barcode", name="scanner"), simulator("contactless", name="rfid")
    with DeviceManager([scanner.settings(), rfid.settings()], callback, backoff=QUICK):
        log.status(LinkState.CONNECTED)
        log.status(LinkState.CONNECTED)
        for _ in range(20):
            scanner.scan("BOOM")
            scanner.scan("96385074")
            rfid.tap("62E3086CED")
        reads = [log.next_read() for _ in range(40)]
    assert overlaps == []
    assert {(event.source, getattr(event, "value", None)) for event in reads} == {
        ("scanner", "96385074"),
        ("rfid", "62E3086CED"),
    }
    assert "the device event callback failed on a Identified" in caplog.text


def test_device_names_must_be_unique(events: EventLog) -> None:
    device = DeviceSettings(name="scanner", kind=DeviceKind.BARCODE, url="loop://")
    with pytest.raises(ValueError, match="device names must be unique: scanner"):
        DeviceManager([device, device], events)


def _usb(device: str, vid: int, pid: int, serial_number: str) -> ListPortInfo:
    port = ListPortInfo(device)
    port.vid, port.pid, port.serial_number = vid, pid, serial_number
    return port


def test_a_usb_reader_is_found_again_by_its_ids() -> None:
    msr = DeviceSettings(
        name="msr", kind=DeviceKind.MAGSTRIPE, url="/dev/ttyUSB0", usb_vid=0x0801, usb_pid=0x0002
    )
    plugged = [
        _usb("/dev/ttyUSB0", 0x0403, 0x6001, "FT1"),
        _usb("/dev/ttyUSB1", 0x0801, 0x0002, "M"),
    ]
    assert find_port(msr, plugged) == "/dev/ttyUSB1"
    assert find_port(msr, plugged[:1]) == "/dev/ttyUSB0"  # not plugged in: the configured URL
    twin = msr.model_copy(update={"usb_serial": "OTHER"})
    assert find_port(twin, plugged) == "/dev/ttyUSB0"
    plain = DeviceSettings(name="s", kind=DeviceKind.BARCODE, url="/dev/ttyACM0")
    assert find_port(plain, plugged) == "/dev/ttyACM0"


def test_backoff_grows_to_its_cap() -> None:
    backoff = Backoff(first=0.2, factor=2.0, cap=1.0)
    assert [backoff.delay(attempt) for attempt in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(10_000) == 1.0


def test_a_simulator_only_does_what_its_kind_does(simulator: Simulator) -> None:
    sim = simulator("barcode")
    with pytest.raises(SimulatorError, match="is a barcode reader"):
        sim.tap("62E3086CED")
    with pytest.raises(ValueError, match="5 bytes"):
        tap_frame("04A22B91")
    port = sim.port
    sim.close()
    assert not sim.plugged
    with pytest.raises(SimulatorError):
        sim.scan("1")
    assert not Path(port).exists()
    assert not Path(port).parent.exists()
