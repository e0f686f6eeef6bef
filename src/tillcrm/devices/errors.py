"""Why a frame identified nobody, and why a port could not be used.

Every message here is written from fixed text and safe facts (reason codes, track numbers, port
names): a frame's content is never put into an exception, so a traceback or a log line can never
carry a raw track or a whole payment card number.
"""

from __future__ import annotations

from enum import StrEnum

from tillcrm.devices.events import Rejected

__all__ = ["ParseError", "PortError", "PortInUseError", "RejectReason"]


class RejectReason(StrEnum):
    """Stable codes for a rejected read, for the UI to translate and the log to count."""

    PAYMENT_CARD = "payment_card"
    """A payment card was presented instead of a loyalty card."""
    BAD_CHECK_DIGIT = "bad_check_digit"
    """An EAN/UPC/GTIN whose check digit is wrong: a digit was lost or misread."""
    BAD_CHECKSUM = "bad_checksum"
    """A contactless frame whose checksum is wrong."""
    BAD_LRC = "bad_lrc"
    """A magnetic track whose longitudinal redundancy check is wrong."""
    TRACK_READ_ERROR = "track_read_error"
    """The reader could not read any usable track (`%E?`, `;E?`, or a truncated track)."""
    BAD_LENGTH = "bad_length"
    """A code of a length its symbology or format cannot have."""
    BAD_FORMAT = "bad_format"
    """Characters the symbology or format does not allow."""
    UNREADABLE = "unreadable"
    """Bytes that do not look like any read of this kind of reader."""


class ParseError(ValueError):
    """One frame could not be turned into an identification.

    `str(error)` is `detail`, which is always safe to show and log. A payment card carries its
    masked number in `masked`, never the number itself.
    """

    def __init__(self, reason: RejectReason, detail: str, *, masked: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.masked = masked

    def rejected(self, source: str) -> Rejected:
        """The event reader `source` reports for this frame."""
        return Rejected(self.reason, source, self.masked, self.detail)


class PortError(OSError):
    """A serial port could not be opened; the message names the port and says why."""


class PortInUseError(PortError):
    """Another program (most likely another till) already holds the port exclusively."""

    def __init__(self, port: str) -> None:
        super().__init__(f"port {port} is in use by another program (another tillcrm till?)")
        self.port = port
