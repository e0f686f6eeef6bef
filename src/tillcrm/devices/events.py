"""What a reader reports: one clean event per read, plus the state of its port.

The till looks `Identified.value` up directly as an identifier of `kind`, so every reader of a
kind reports the same canonical value for the same card. Nothing here ever holds a whole payment
card number or a raw track: a payment card only ever travels as `Rejected.masked`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum

from tillcrm.domain import IdentifierKind

__all__ = [
    "DeviceEvent",
    "DeviceStatus",
    "EventCallback",
    "Identified",
    "LinkState",
    "Reading",
    "Rejected",
    "event_json",
    "log_read",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a parser made of one frame, before it is known which reader sent it."""

    kind: IdentifierKind
    value: str
    symbology: str | None = None

    def identified(self, source: str) -> Identified:
        """The event the reader named `source` reports for this reading."""
        return Identified(self.kind, self.value, source, self.symbology)


@dataclass(frozen=True, slots=True)
class Identified:
    """A customer identifier was read: look `value` up as an identifier of `kind`."""

    kind: IdentifierKind
    value: str
    source: str
    symbology: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A read that identifies nobody: a payment card, or a frame that failed its checks.

    `reason` is a stable code (`payment_card`, `bad_check_digit`, `track_read_error`, ...) the UI
    can translate; `detail` is a safe English sentence (which track failed, ...); `masked` is the
    masked card number of a payment card, never more than its first 6 and last 4 digits.
    """

    reason: str
    source: str
    masked: str | None = None
    detail: str = ""


class LinkState(StrEnum):
    """The state of a reader's port, as shown on the devices screen."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The port of reader `source` changed state; `detail` says why, for the operator."""

    source: str
    state: LinkState
    detail: str = ""


DeviceEvent = Identified | Rejected | DeviceStatus
"""Everything a reader reports."""

EventCallback = Callable[[DeviceEvent], None]
"""The one callback that receives every event of every reader (called from reader threads)."""

_EVENT_NAMES: dict[type[DeviceEvent], str] = {
    Identified: "identified",
    Rejected: "rejected",
    DeviceStatus: "status",
}


def event_json(event: DeviceEvent) -> dict[str, object]:
    """The event as one JSON object, `{"event": "identified", ...}`, for logs and the CLI."""
    return {"event": _EVENT_NAMES[type(event)], **asdict(event)}


_READ_VERBS = {
    IdentifierKind.BARCODE: "scan",
    IdentifierKind.MAGSTRIPE: "swipe",
    IdentifierKind.RFID: "tap",
}


def log_read(event: Identified | Rejected) -> None:
    """One log line per read, from a serial reader or a keyboard wedge: which reader, what
    kind of read, and a refusal's reason, never the value read (a card number is an
    identifier too, and a payment card's masked number is not needed to support a till)."""
    if isinstance(event, Identified):
        verb = _READ_VERBS.get(event.kind, event.kind.value)
        log.info("device %s: %s of a %s identifier", event.source, verb, event.kind.value)
    else:
        log.info("%s rejected a read: %s (%s)", event.source, event.reason, event.detail)
