"""One serial reader on its own thread: open the port, read, decode, report; reopen after unplug.

The port is opened exclusively (`flock` on POSIX), so two tills configured with the same reader
do not each receive half of the bytes; the second one is told which port is taken. Any pyserial
URL works (a device path, `socket://host:port`, `loop://`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from tillcrm.config import DeviceSettings
from tillcrm.devices.decoder import Decoder
from tillcrm.devices.errors import PortError, PortInUseError
from tillcrm.devices.events import DeviceStatus, EventCallback, LinkState

__all__ = ["DEFAULT_BACKOFF", "Backoff", "SerialReader", "find_port", "open_port"]

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
"""Longest a read blocks while the line is idle: how soon `stop` is seen on ports that cannot
cancel a read (socket://, loop://). POSIX ports are woken at once by `cancel_read`."""

_LOCKED = {errno.EAGAIN, errno.EWOULDBLOCK}
"""What `flock(LOCK_EX | LOCK_NB)` fails with when another process holds the port."""

_WHY: dict[int, str] = {
    errno.ENOENT: "no such port: is the reader plugged in?",
    errno.EACCES: "permission denied: is this user in the dialout (or uucp) group?",
    errno.EBUSY: "the port is busy",
}
"""Plain words for the usual reasons a port does not open."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between attempts to reopen a lost port: quick at first for a replug, then capped so
    that a reader left unplugged all day costs one attempt every few seconds."""

    first: float = 0.2
    factor: float = 2.0
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (counted from 0)."""
        return min(self.cap, self.first * self.factor ** min(attempt, 32))


DEFAULT_BACKOFF = Backoff()
"""0.2 s, 0.4 s, ... up to 5 s between attempts."""


def find_port(device: DeviceSettings, ports: Iterable[ListPortInfo]) -> str:
    """The port to open: the one whose USB ids match the device's, when it has any configured
    and one is plugged in (a USB adapter may come back as /dev/ttyUSB1 after an unplug); else
    its URL."""
    wanted = (device.usb_vid, device.usb_pid, device.usb_serial)
    if wanted == (None, None, None):
        return device.url
    for port in ports:
        actual = (port.vid, port.pid, port.serial_number)
        if all(want is None or want == have for want, have in zip(wanted, actual, strict=True)):
            return str(port.device)
    return device.url


def open_port(device: DeviceSettings, url: str | None = None) -> serial.SerialBase:
    """Open the device's port (or `url`) exclusively with its line settings.

    Raises `PortInUseError` when another program holds it, `PortError` for any other reason; both
    name the port.
    """
    port = url or device.url
    try:
        return serial.serial_for_url(
            port,
            baudrate=device.baudrate,
            bytesize=device.bytesize,
            parity=device.parity,
            stopbits=device.stopbits,
            timeout=_POLL_SECONDS,
            exclusive=True,
        )
    except serial.SerialException as exc:
        if exc.errno in _LOCKED:
            raise PortInUseError(port) from None
        why = _WHY.get(exc.errno) if exc.errno is not None else None
        raise PortError(f"cannot open port {port}: {why or exc}") from None
    except ValueError as exc:  # pyserial's word for a malformed URL or line setting
        raise PortError(f"cannot open port {port}: {exc}") from None


class SerialReader:
    """Reads one device on a daemon thread and reports its events to `on_event`.

    The thread keeps the reader alive for the life of the till: a lost port is reported as
    disconnected and reopened with backoff, found again by its USB ids when they are configured.
    """

    def __init__(
        self, device: DeviceSettings, on_event: EventCallback, *, backoff: Backoff = DEFAULT_BACKOFF
    ) -> None:
        self.device = device
        self._on_event = on_event
        self._backoff = backoff
        self._stopping = threading.Event()
        self._port: serial.SerialBase | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"tillcrm-device-{device.name}", daemon=True
        )

    @property
    def name(self) -> str:
        """The device's name, the `source` of its events."""
        return self.device.name

    def start(self) -> None:
        """Start reading in the background."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, close the port and wait for the thread to end."""
        self._stopping.set()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            # The thread may close the port at this very moment; pyserial then writes to an
            # abort pipe that is gone (OSError, or TypeError once its fd is None). Either way the
            # thread is already on its way out.
            with contextlib.suppress(OSError, TypeError):
                port.cancel_read()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _status(self, state: LinkState, detail: str) -> None:
        log.info("device %s %s: %s", self.name, state, detail)
        self._on_event(DeviceStatus(self.name, state, detail))

    def _run(self) -> None:
        attempt = 0
        last_failure = ""
        while not self._stopping.is_set():
            try:
                port = open_port(self.device, find_port(self.device, list_ports.comports()))
            except PortError as exc:
                if str(exc) != last_failure:
                    last_failure = str(exc)
                    self._status(LinkState.ERROR, last_failure)
                delay = self._backoff.delay(attempt)
                attempt += 1
                self._status(LinkState.RECONNECTING, f"trying again in {delay:.2g} s")
                self._stopping.wait(delay)
                continue
            attempt, last_failure = 0, ""
            self._port = port
            self._status(LinkState.CONNECTED, f"port {port.name} open")
            try:
                self._pump(port)
            except OSError as exc:  # SerialException is one: the port went away under the read
                self._status(LinkState.DISCONNECTED, f"port {port.name} lost: {exc}")
            else:
                self._status(LinkState.DISCONNECTED, "stopped")
            finally:
                self._port = None
                with contextlib.suppress(OSError):
                    port.close()

    def _pump(self, port: serial.SerialBase) -> None:
        """Read until stopped or the port is lost (`SerialException`)."""
        decoder = Decoder.for_device(self.device)
        framer = decoder.framer
        while not self._stopping.is_set():
            timeout = framer.quiet_gap if framer.holding else _POLL_SECONDS
            if port.timeout != timeout:
                port.timeout = timeout
            data = port.read(port.in_waiting or 1)
            events = decoder.feed(data) if data else decoder.flush()
            for event in events:
                self._on_event(event)
