"""From a reader's bytes to its events: the framer and the parser its `[[devices]]` table calls for.

This is the one place that maps a device's settings to its framing and parsing, used alike by the
serial reader, the `devices test` command, the simulators' tests and the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.barcode import parse_barcode
from tillcrm.devices.contactless import parse_rdm6300, parse_uid_line
from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Identified, Reading, Rejected, log_read
from tillcrm.devices.framing import (
    MAX_FRAME,
    TERMINATORS,
    Framer,
    LineFramer,
    StxEtxFramer,
    SwipeFramer,
)
from tillcrm.devices.magstripe import parse_swipe

__all__ = ["Decoder", "Parser"]

Parser = Callable[[bytes], Reading | None]
"""One whole frame to a reading, None when the frame is not a read (a blank line), or
`ParseError`."""


class Decoder:
    """Turns the bytes of one reader, in pieces of any size, into `Identified`/`Rejected` events."""

    def __init__(self, source: str, framer: Framer, parse: Parser) -> None:
        self.source = source
        self.framer = framer
        self._parse = parse

    @classmethod
    def for_device(cls, device: DeviceSettings) -> Decoder:
        """The framing and parsing that the device's kind and settings call for."""
        terminator = TERMINATORS[device.terminator]
        match device.kind:
            case DeviceKind.BARCODE:
                return cls(
                    device.name,
                    LineFramer(terminator),
                    partial(parse_barcode, aim_prefix=device.aim_prefix),
                )
            case DeviceKind.MAGSTRIPE:
                return cls(device.name, SwipeFramer(), parse_swipe)
            case DeviceKind.CONTACTLESS if device.contactless_format == "rdm6300":
                return cls(device.name, StxEtxFramer(), parse_rdm6300)
            case DeviceKind.CONTACTLESS:
                parse = partial(
                    parse_uid_line,
                    number_format=device.contactless_format,
                    byte_order=device.byte_order,
                )
                return cls(device.name, LineFramer(terminator), parse)

    def feed(self, data: bytes) -> list[Identified | Rejected]:
        """Events for the frames these bytes complete."""
        return self._events(self.framer.feed(data))

    def flush(self) -> list[Identified | Rejected]:
        """Events for a frame completed by the line falling quiet (see `Framer.flush`)."""
        return self._events(self.framer.flush())

    def _events(self, frames: list[bytes]) -> list[Identified | Rejected]:
        events: list[Identified | Rejected] = []
        for frame in frames:
            try:
                if len(frame) > MAX_FRAME:
                    raise ParseError(RejectReason.UNREADABLE, "frame too long: noise on the line?")
                reading = self._parse(frame)
            except ParseError as error:
                events.append(error.rejected(self.source))
            else:
                if reading is not None:
                    events.append(reading.identified(self.source))
        for event in events:
            log_read(event)
        return events
