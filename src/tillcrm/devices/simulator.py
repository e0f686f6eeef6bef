"""Simulated readers on pseudo-terminals, for the tests, the demo and `tillcrm devices simulate`.

A simulator owns a pty and writes to its master exactly what a real reader of its kind sends; the
till opens the slave through the real pyserial path (`serial_for_url`, `exclusive=True`), so the
framing, the reader thread and the reconnect logic are all exercised. The slave is reached
through a stable symlink (`port`), as udev's /dev/serial/by-id links reach a USB reader: an
unplug removes the link and closes the pty, a replug points the link at a new pty.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import tempfile
import threading
import tty
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.contactless import ByteOrder, xor_checksum
from tillcrm.devices.framing import CR, DLE, ESC, ETX, STX, TERMINATORS, Terminator
from tillcrm.devices.magstripe import track_lrc

__all__ = [
    "ContactlessFormat",
    "SimulatedReader",
    "SimulatorError",
    "SwipeFraming",
    "aim_symbology",
    "barcode_frame",
    "swipe_frame",
    "tap_frame",
]

SwipeFraming = Literal["magtek", "idtech", "iso"]
"""How a simulated magnetic stripe reader frames a swipe: MagTek (STX ESC tracks CR ETX),
ID TECH (STX, each track followed by its LRC and DLE, ETX) or bare ISO tracks ending in CR."""

ContactlessFormat = Literal["rdm6300", "hex", "decimal"]

_WRITE_TIMEOUT: Final = 2.0
"""Seconds a write may wait for room in the pty: the kernel buffers about 4 KiB, so a full buffer
means nobody has been reading the port for a long while."""


class SimulatorError(RuntimeError):
    """The simulated reader cannot do that: it is unplugged, closed, or of another kind."""


def aim_symbology(code: str) -> str:
    """The AIM identifier a scanner sends before `code`: `]E0` for an EAN-13 or UPC-A, `]E4` for
    an EAN-8, `]C0` (Code 128) for anything else."""
    if code.isascii() and code.isdigit():
        if len(code) in (12, 13):
            return "]E0"
        if len(code) == 8:
            return "]E4"
    return "]C0"


def barcode_frame(
    code: str, *, terminator: Terminator = "CR", symbology: str | None = None
) -> bytes:
    """What a serial scanner sends for `code`: its AIM identifier if any, the code, the
    terminator."""
    return f"{symbology or ''}{code}".encode() + TERMINATORS[terminator]


def swipe_frame(
    *,
    track1: str | None = None,
    track2: str | None = None,
    track3: str | None = None,
    framing: SwipeFraming = "magtek",
) -> bytes:
    """What a magnetic stripe reader sends for a swipe of the given tracks (data without
    sentinels; `E` is a track the reader could not read)."""
    present = [(n, data) for n, data in ((1, track1), (2, track2), (3, track3)) if data is not None]
    starts = {1: "%", 2: ";", 3: "+" if framing == "magtek" else ";"}
    tracks = [f"{starts[n]}{data}?" for n, data in present]
    match framing:
        case "magtek":
            return bytes([STX, ESC]) + "".join(tracks).encode("latin-1") + bytes([CR, ETX])
        case "idtech":
            body = b"".join(
                f"{track}{track_lrc(n, data)}".encode("latin-1") + bytes([DLE])
                for track, (n, data) in zip(tracks, present, strict=True)
            )
            return bytes([STX]) + body + bytes([ETX])
        case "iso":
            return "".join(tracks).encode("latin-1") + bytes([CR])


def tap_frame(
    uid: str,
    *,
    contactless_format: ContactlessFormat = "rdm6300",
    byte_order: ByteOrder = "big",
    terminator: Terminator = "CR",
) -> bytes:
    """What a contactless reader sends for a card whose UID is `uid` (hex, card byte order).

    RDM6300 frames carry 5 bytes (a version byte and a 4-byte id) and their XOR checksum; a
    line-based reader sends the UID in hex or as one decimal number, in its own byte order.
    """
    data = bytes.fromhex(uid)
    if contactless_format == "rdm6300":
        if len(data) != 5:
            raise ValueError("an RDM6300 card id is 5 bytes (10 hex digits)")
        payload = f"{data.hex().upper()}{xor_checksum(data):02X}"
        return bytes([STX]) + payload.encode() + bytes([ETX])
    sent = data[::-1] if byte_order == "little" else data
    text = sent.hex().upper() if contactless_format == "hex" else str(int.from_bytes(sent, "big"))
    return text.encode() + TERMINATORS[terminator]


class SimulatedReader:
    """One simulated reader: write real framings to a pty whose slave the till opens at `port`.

    Safe to drive from any thread (the demo's UI thread, a test); use `open` to create one.
    """

    def __init__(
        self,
        kind: DeviceKind,
        *,
        name: str,
        directory: Path,
        owns_directory: bool,
        terminator: Terminator,
        aim_prefix: bool,
        contactless_format: ContactlessFormat,
        byte_order: ByteOrder,
        swipe_framing: SwipeFraming,
    ) -> None:
        self.kind = kind
        self.name = name
        self.terminator: Terminator = terminator
        self.aim_prefix = aim_prefix
        self.contactless_format: ContactlessFormat = contactless_format
        self.byte_order: ByteOrder = byte_order
        self.swipe_framing: SwipeFraming = swipe_framing
        self.port = str(directory / name)
        """Stable path of the slave, for the `url` of a `[[devices]]` table."""
        self._directory = directory
        self._owns_directory = owns_directory
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None

    @classmethod
    def open(
        cls,
        kind: DeviceKind | str,
        *,
        name: str | None = None,
        directory: Path | None = None,
        terminator: Terminator = "CR",
        aim_prefix: bool = True,
        contactless_format: ContactlessFormat = "rdm6300",
        byte_order: ByteOrder = "big",
        swipe_framing: SwipeFraming = "magtek",
    ) -> SimulatedReader:
        """A plugged-in simulated reader of `kind`; its link goes in `directory` (made if need be;
        a new temporary folder, removed by `close`, when not given)."""
        kind = DeviceKind(kind)
        owns = directory is None
        folder = Path(tempfile.mkdtemp(prefix="tillcrm-sim-")) if directory is None else directory
        folder.mkdir(parents=True, exist_ok=True)
        reader = cls(
            kind,
            name=name or kind.value,
            directory=folder,
            owns_directory=owns,
            terminator=terminator,
            aim_prefix=aim_prefix,
            contactless_format=contactless_format,
            byte_order=byte_order,
            swipe_framing=swipe_framing,
        )
        reader.replug()
        return reader

    def settings(self) -> DeviceSettings:
        """The `[[devices]]` table of a till reading this simulator."""
        return DeviceSettings(
            name=self.name,
            kind=self.kind,
            url=self.port,
            terminator=self.terminator,
            aim_prefix=self.aim_prefix,
            contactless_format=self.contactless_format,
            byte_order=self.byte_order,
        )

    @property
    def plugged(self) -> bool:
        """The reader is plugged in: its port exists and `write` reaches it."""
        return self._master is not None

    def scan(self, code: str, *, symbology: str | None = None) -> None:
        """Scan a barcode; its AIM identifier is worked out from the code unless given."""
        self._expect(DeviceKind.BARCODE)
        if self.aim_prefix and symbology is None:
            symbology = aim_symbology(code)
        self.write(barcode_frame(code, terminator=self.terminator, symbology=symbology))

    def swipe(
        self, *, track1: str | None = None, track2: str | None = None, track3: str | None = None
    ) -> None:
        """Swipe a card carrying these tracks (data without sentinels; `E` for an unread track)."""
        self._expect(DeviceKind.MAGSTRIPE)
        frame = swipe_frame(track1=track1, track2=track2, track3=track3, framing=self.swipe_framing)
        self.write(frame)

    def tap(self, uid: str) -> None:
        """Tap a card whose UID is `uid` (hex, card byte order)."""
        self._expect(DeviceKind.CONTACTLESS)
        self.write(
            tap_frame(
                uid,
                contactless_format=self.contactless_format,
                byte_order=self.byte_order,
                terminator=self.terminator,
            )
        )

    def write(self, data: bytes) -> None:
        """Send raw bytes as the reader would, e.g. half a frame, or two frames at once."""
        with self._lock:
            if self._master is None:
                raise SimulatorError(f"simulated reader {self.name} is unplugged")
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    _, ready, _ = select.select([], [self._master], [], _WRITE_TIMEOUT)
                    if not ready:
                        raise SimulatorError(f"nobody is reading {self.port}") from None

    def unplug(self) -> None:
        """Pull the cable: the port disappears and a till reading it sees the line drop."""
        with self._lock:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.port)
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None

    def replug(self) -> None:
        """Plug the cable back in: a new pty behind the same `port`."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            # Raw from the start, so nothing is echoed or translated before the till opens it.
            tty.setraw(slave)
            os.set_blocking(master, False)
            link = Path(f"{self.port}.new")
            link.unlink(missing_ok=True)
            link.symlink_to(os.ttyname(slave))
            link.replace(self.port)
            self._master, self._slave = master, slave

    def close(self) -> None:
        """Unplug for good and remove the temporary folder made by `open`."""
        self.unplug()
        if self._owns_directory:
            shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> SimulatedReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _expect(self, kind: DeviceKind) -> None:
        if self.kind is not kind:
            raise SimulatorError(f"simulated reader {self.name} is a {self.kind} reader")
