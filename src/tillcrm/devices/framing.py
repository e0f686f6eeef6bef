"""Splitting a reader's byte stream into frames, one read per frame.

Serial bytes arrive in arbitrary pieces: one frame split over many reads, or two frames in one.
Framers only find frame boundaries; the parsers (barcode, magstripe, contactless) make sense of one
whole frame. Both are pure, so they are tested without a port.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Final, Literal

__all__ = [
    "CR",
    "DLE",
    "ESC",
    "ETX",
    "LF",
    "MAX_FRAME",
    "STX",
    "TERMINATORS",
    "Framer",
    "LineFramer",
    "StxEtxFramer",
    "SwipeFramer",
    "Terminator",
    "frame_text",
]

STX: Final = 0x02
"""Start of text: opens a frame (RDM6300, MagTek, ID TECH UIC)."""
ETX: Final = 0x03
"""End of text: closes a frame."""
LF: Final = 0x0A
CR: Final = 0x0D
DLE: Final = 0x10
"""Data link escape: ends one track of an ID TECH UIC frame."""
ESC: Final = 0x1B
"""Escape: MagTek readers may send it at the start of a swipe."""

MAX_FRAME: Final = 8192
"""Longest frame kept (a QR code holds at most about 7,000 characters). A reader that streams
noise without ever ending a frame is cut here, so a bad cable cannot grow the buffer forever."""

Terminator = Literal["CR", "LF", "CRLF"]
TERMINATORS: Final[dict[Terminator, bytes]] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
"""The bytes of each configurable line terminator."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def frame_text(frame: bytes) -> str:
    """A frame as text without control characters or surrounding blanks.

    UTF-8 when it decodes (a QR code may carry any text), else Latin-1, which never fails: a noisy
    line must end in a parse error, not a UnicodeDecodeError quoting the bytes.
    """
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        text = frame.decode("latin-1")
    return _CONTROL.sub("", text).strip()


class Framer(ABC):
    """Finds frame boundaries in a byte stream fed in pieces of any size."""

    quiet_gap: float | None = None
    """Seconds of silence after which a held frame is complete (see `flush`); None: never."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @abstractmethod
    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes from the port; return the frames they complete, in order."""

    @property
    def holding(self) -> bool:
        """A frame may be complete but its end can only be known from the line falling quiet."""
        return False

    def flush(self) -> list[bytes]:
        """The line has been quiet for `quiet_gap`: complete the held frame, if any."""
        return []

    def _take(self) -> list[bytes]:
        """The buffered bytes as one frame (none if empty); the buffer starts over."""
        frame = bytes(self._buffer)
        self._buffer.clear()
        return [frame] if frame else []

    def _cut_overlong(self, frames: list[bytes]) -> list[bytes]:
        """Hand an overlong buffer on as a frame, so it is rejected rather than kept forever."""
        if len(self._buffer) > MAX_FRAME:
            frames.extend(self._take())
        return frames


class LineFramer(Framer):
    """Barcode scanners and line-based UID readers: one read per line."""

    def __init__(self, terminator: bytes) -> None:
        super().__init__()
        self._terminator = terminator

    def feed(self, data: bytes) -> list[bytes]:
        """Every terminator completes a frame; the bytes after the last one wait for more."""
        self._buffer += data
        *lines, rest = self._buffer.split(self._terminator)
        self._buffer = bytearray(rest)
        return self._cut_overlong([bytes(line) for line in lines])


class StxEtxFramer(Framer):
    """RDM6300-style readers: each read is STX, payload, ETX; bytes between frames are noise."""

    def __init__(self) -> None:
        super().__init__()
        self._inside = False

    def feed(self, data: bytes) -> list[bytes]:
        """Payloads between STX and ETX. A new STX before the ETX hands the cut frame on (it
        fails its length check), so the cashier learns that the tap was lost."""
        frames: list[bytes] = []
        for byte in data:
            if byte == STX:
                frames.extend(self._take())
                self._inside = True
            elif byte == ETX:
                frames.extend(self._take())
                self._inside = False
            elif self._inside:
                self._buffer.append(byte)
        return self._cut_overlong(frames)


class SwipeFramer(Framer):
    """Magnetic stripe readers: one swipe, whatever the framing, is one frame.

    MagTek readers send `[STX][ESC] tracks [CR][ETX]`, every part optional; ID TECH readers send
    each track on its own CR-terminated line, or as STX track LRC DLE ... ETX. So ETX completes a
    swipe at once; otherwise a swipe is the burst of bytes the reader sends in one go, complete when
    the line falls quiet. A reader sends a whole swipe back to back, while a USB serial adapter may
    pause up to 16 ms between packets, hence a 50 ms gap. A track 1 start sentinel after a line
    end (and any STX or ESC) also starts a new swipe, because track 1 always comes first.
    """

    quiet_gap = 0.05

    def __init__(self) -> None:
        super().__init__()
        self._line_ended = False

    @property
    def holding(self) -> bool:
        """Bytes of a swipe are waiting for the line to fall quiet."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Swipes completed by ETX or by the start of the next swipe."""
        frames: list[bytes] = []
        for byte in data:
            if byte == ETX:
                frames.extend(self._take())
                self._line_ended = False
                continue
            if byte in (CR, LF):
                self._line_ended = True
            elif byte >= 0x20:  # other control bytes (STX, ESC) may precede the next swipe
                if self._line_ended and byte == ord("%"):
                    frames.extend(self._take())
                self._line_ended = False
            self._buffer.append(byte)
        return self._cut_overlong(frames)

    def flush(self) -> list[bytes]:
        """The reader has stopped sending: what it sent is the swipe."""
        self._line_ended = False
        return self._take()
