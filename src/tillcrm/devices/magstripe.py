"""Magnetic stripe swipes (ISO/IEC 7813 tracks 1-3) as loyalty or gift card reads.

A swipe of a payment card is refused with only its masked number, because a till that keeps card
data is in PCI DSS scope. Raw track text never leaves this module: it is not put into an
exception, a log line, a repr or an event, and only the canonical account value of a loyalty or
gift card is returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from typing import Final

from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Reading
from tillcrm.devices.framing import DLE, ESC
from tillcrm.domain import IdentifierKind, looks_like_pan, mask_pan

__all__ = ["parse_swipe", "track_lrc"]

_START_SENTINELS: Final = {"%": 1, ";": 2, "+": 3}
"""Track 1 is `%`; track 2 is `;`; track 3 is `+`, or `;` again when it follows track 2."""
_END_SENTINEL: Final = "?"
_FAILED: Final = "E"
"""What MagTek and ID TECH readers send in place of a track they could not read."""
_TRACK1_CHARS: Final = re.compile(r"[\x20-\x5f]*")
"""Track 1 is 6-bit alphanumeric: space to underscore."""
_NUMERIC_CHARS: Final = re.compile(r"[0-9:<=>]*")
"""Tracks 2 and 3 are 4-bit numeric: digits and the separators `:<=>`."""
_NOT_PRINTABLE: Final = re.compile(r"[^\x20-\x7e]")
_EXPIRY: Final = re.compile(r"[0-9]{4}")
"""YYMM, as found after `=` on tracks 2 and 3 and after the second `^` on track 1."""
_SENSOR_STATUS: Final = {"", "0", "1"}
"""A MagTek insertion reader reports card in/out as `ESC 1` / `ESC 0`: not a read."""


def track_lrc(number: int, data: str) -> str:
    """The LRC character of a track's data (given without sentinels), as readers that send one
    compute it: the XOR of the card's character values, start and end sentinels included (6-bit
    values on track 1, 4-bit on tracks 2 and 3, where track 3's start sentinel is `;` on the card
    whatever the reader prints for it). Never raises, so the simulators may use it on any text."""
    base, mask, start = (0x20, 0x3F, "%") if number == 1 else (0x30, 0x0F, ";")
    value = reduce(xor, ((ord(char) - base) & mask for char in f"{start}{data}?"), 0)
    return chr(value + base)


@dataclass(frozen=True, slots=True)
class _Track:
    """One track of a swipe; `data` (without sentinels) is None when the track failed."""

    number: int
    data: str | None = field(repr=False)
    failure: RejectReason | None = None

    @property
    def account(self) -> str:
        """The account field: track 1 between the format code and the first `^`; tracks 2 and 3
        before the first `=`."""
        data = self.data or ""
        if self.number == 1:
            return data[1:].split("^", 1)[0].strip()
        return data.split("=", 1)[0]

    @property
    def has_expiry(self) -> bool:
        """A YYMM expiry date where ISO 7813 puts one, the mark of a payment card."""
        data = self.data or ""
        fields = data.split("^") if self.number == 1 else data.split("=")
        position = 2 if self.number == 1 else 1
        return len(fields) > position and bool(_EXPIRY.match(fields[position]))

    @property
    def is_payment_card(self) -> bool:
        """Format code B, or a Luhn-valid 13-19 digit account with an expiry date."""
        if self.data is None:
            return False
        if self.number == 1 and self.data.startswith("B"):
            return True
        return looks_like_pan(self.account.replace(" ", "")) and self.has_expiry


def parse_swipe(frame: bytes) -> Reading | None:
    """One swipe as a loyalty or gift card reading; None for a card-sensor status message.

    The value is the account of track 2 if it was read, else the account of track 1, else the
    data of track 3. Raises `ParseError`: payment_card (with the masked number only),
    track_read_error or bad_lrc (naming the tracks) when no track is usable, unreadable otherwise.
    """
    text = frame.decode("latin-1")
    tracks, outside = _scan(text, lrc_possible=chr(ESC) not in text)
    if not tracks:
        if "".join(outside) in _SENSOR_STATUS:
            return None
        raise ParseError(RejectReason.UNREADABLE, "no magnetic track found in the swipe")
    read = [track for track in tracks if track.data is not None]
    numbers = [track.number for track in tracks]
    if len(set(numbers)) != len(numbers):
        raise ParseError(RejectReason.UNREADABLE, "the same track came twice: swipe again")
    for track in read:
        if track.is_payment_card:
            raise ParseError(
                RejectReason.PAYMENT_CARD,
                "payment card, not a loyalty card",
                masked=mask_pan("".join(filter(str.isdigit, track.account))) or None,
            )
    by_number = {track.number: track for track in read}
    candidates = [by_number[n].account for n in (2, 1) if n in by_number]
    if 3 in by_number:
        candidates.append(by_number[3].data or "")
    for value in candidates:
        if value:
            return Reading(IdentifierKind.MAGSTRIPE, value)
    raise _unusable(tracks)


def _unusable(tracks: list[_Track]) -> ParseError:
    """Why no track gave a value, track by track (never what the tracks held)."""
    failed = [track for track in tracks if track.failure is not None]
    if not failed:
        return ParseError(RejectReason.UNREADABLE, "the card carries no account number")
    reason = (
        RejectReason.BAD_LRC
        if any(track.failure is RejectReason.BAD_LRC for track in failed)
        else RejectReason.TRACK_READ_ERROR
    )
    detail = "; ".join(
        f"track {track.number}: "
        + ("LRC check failed" if track.failure is RejectReason.BAD_LRC else "not read")
        for track in failed
    )
    return ParseError(reason, f"{detail}: swipe again")


def _scan(text: str, *, lrc_possible: bool) -> tuple[list[_Track], list[str]]:
    """The tracks of a swipe, and the printable characters found outside any track.

    An ID TECH UIC frame follows a track's end sentinel with its LRC and then DLE or the end of
    the frame; a MagTek frame that starts with ESC may put a card-sensor digit there instead.
    """
    tracks: list[_Track] = []
    outside: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char not in _START_SENTINELS:
            if char.isprintable() and char.isascii():
                outside.append(char)
            position += 1
            continue
        number = _START_SENTINELS[char]
        if number == 2 and any(track.number == 2 for track in tracks):
            number = 3
        end = text.find(_END_SENTINEL, position + 1)
        broken = _NOT_PRINTABLE.search(text, position + 1, end if end >= 0 else len(text))
        if end < 0 or broken:
            tracks.append(_Track(number, None, RejectReason.TRACK_READ_ERROR))
            position = broken.start() if broken else len(text)
            continue
        lrc = text[end + 1] if lrc_possible and _lrc_follows(text, end) else None
        tracks.append(_track(number, text[position : end + 1], lrc))
        position = end + (2 if lrc else 1)
    return tracks, outside


def _lrc_follows(text: str, end: int) -> bool:
    """One printable character after the end sentinel, then DLE or the end of the frame."""
    after = text[end + 1 : end + 3]
    return len(after) >= 1 and after[0].isprintable() and after[1:] in ("", chr(DLE))


def _track(number: int, track: str, lrc: str | None) -> _Track:
    """Check one track given with its sentinels (and LRC, when the reader sends it)."""
    data = track[1:-1]
    chars = _TRACK1_CHARS if number == 1 else _NUMERIC_CHARS
    if data == _FAILED or not chars.fullmatch(data):
        return _Track(number, None, RejectReason.TRACK_READ_ERROR)
    if lrc is not None and lrc != track_lrc(number, data):
        return _Track(number, None, RejectReason.BAD_LRC)
    return _Track(number, data)
