"""Keyboard-wedge scanners: telling a scan from typing by the timing of the keys alone.

A wedge scanner types its code as keystrokes, a few milliseconds apart, and presses Enter; no
person types that fast. The UI feeds every key with its timestamp and gets back what the person
typed (to handle as usual) and what was scanned (to identify a customer). Pure: the Textual
adapter that feeds it lives with the TUI.
"""

from __future__ import annotations

from dataclasses import dataclass

from tillcrm.devices.barcode import parse_barcode
from tillcrm.devices.errors import ParseError
from tillcrm.devices.events import Identified, Rejected, log_read
from tillcrm.devices.magstripe import parse_swipe

__all__ = [
    "WEDGE_SOURCE",
    "Scanned",
    "Typed",
    "WedgeDetector",
    "WedgeOutput",
    "is_track_frame",
    "read_scan",
]

WEDGE_SOURCE = "keyboard"
"""The `source` of events read from a keyboard-wedge device."""

_TRACK_SENTINELS = ("%", ";", "+")


@dataclass(frozen=True, slots=True)
class Typed:
    """Keys a person typed, to be handled in order as ordinary keystrokes."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scanned:
    """A code the scanner typed (without its Enter)."""

    code: str


WedgeOutput = Typed | Scanned


class WedgeDetector:
    """Holds back a burst of fast keys until it ends in Enter (a scan) or slows down (typing).

    `max_gap` is the longest pause between two keys of one scan (scanners send a key every few
    ms; 30 ms leaves room for a busy terminal); `min_length` the fewest characters a scan has, so a
    fast double key and Enter stays typing. `enter` names the key that ends a scan.
    """

    def __init__(
        self, *, max_gap: float = 0.030, min_length: int = 4, enter: str = "enter"
    ) -> None:
        if max_gap <= 0 or min_length < 1:
            raise ValueError("max_gap must be positive and min_length at least 1")
        self.max_gap = max_gap
        self.min_length = min_length
        self.enter = enter
        self._burst: list[str] = []
        self._last: float | None = None

    @property
    def pending(self) -> bool:
        """Keys are held back; call `flush` once `max_gap` has passed without a key."""
        return bool(self._burst)

    def feed(self, key: str, at: float) -> list[WedgeOutput]:
        """One key (a single character, or a key name such as "enter") pressed at time `at`
        (seconds, monotonic); returns what is now known to be typing or a scan."""
        out = self.flush(at)
        if key == self.enter and len(self._burst) >= self.min_length:
            out.append(Scanned("".join(self._burst)))
            self._burst.clear()
            self._last = None
            return out
        self._burst.append(key)
        self._last = at
        if len(key) != 1 or not key.isprintable():
            out.extend(self._typed())
        return out

    def flush(self, now: float) -> list[WedgeOutput]:
        """Held keys become typing when the pause since the last one is longer than a scan's."""
        if self._last is not None and now - self._last > self.max_gap:
            return self._typed()
        return []

    def _typed(self) -> list[WedgeOutput]:
        """Release every held key as typing."""
        keys = tuple(self._burst)
        self._burst.clear()
        self._last = None
        return [Typed(keys)] if keys else []


def is_track_frame(code: str) -> bool:
    """`code` is framed as a magnetic-stripe track (`%...?`, `;...?`, `+...?`): what a badge
    swiped on a keyboard-wedge stripe reader types, and nothing a person types as a PIN."""
    return code.startswith(_TRACK_SENTINELS) and code.endswith("?")


def read_scan(scanned: Scanned) -> Identified | Rejected | None:
    """What a keyboard-wedge burst identifies, through the same parsers as the serial readers.

    A wedge magnetic-stripe reader types its tracks (`%B4111...?;4111...=25...?`): they go
    through the swipe parser, so a payment card is refused with its masked number and the
    tracks never reach a lookup, a query string or a log. Anything else is a barcode, its
    check digit validated. None for an empty burst.
    """
    frame = scanned.code.encode("latin-1", errors="replace")
    try:
        if scanned.code.startswith(_TRACK_SENTINELS):
            reading = parse_swipe(frame)
        else:
            reading = parse_barcode(frame)
    except ParseError as refused:
        event: Identified | Rejected | None = refused.rejected(WEDGE_SOURCE)
    else:
        event = reading.identified(WEDGE_SOURCE) if reading is not None else None
    if event is not None:
        log_read(event)
    return event
