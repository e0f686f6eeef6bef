"""Barcode scanner reads: one line per code, optionally prefixed by its AIM symbology identifier.

EAN/UPC/GTIN check digits are verified so that a digit lost on the wire or misread by the scanner
is refused instead of looked up as some other customer. Code 128, QR and the other symbologies
carry their own checks inside the symbol, so their payload is taken as it is.
"""

from __future__ import annotations

import re
from typing import Final

from stdnum import ean
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Reading
from tillcrm.devices.framing import frame_text
from tillcrm.domain import IdentifierKind

__all__ = ["parse_barcode"]

_AIM_PREFIX: Final = re.compile(r"\][A-Za-z][0-9A-Za-z]")
"""`]` + symbology code character + modifier, e.g. `]E0` (EAN-13/UPC-A), `]C1` (GS1-128)."""

_GTIN_SYMBOLOGIES: Final = {"]E0": (12, 13), "]E4": (8,)}
"""AIM identifiers of EAN/UPC symbols and the lengths of their check-digit-bearing form. `]E0`
also announces UPC-E sent in its 8-digit short form, whose check digit covers the expanded code
that stdnum does not compute; it is taken as it is."""

_GTIN_LENGTHS: Final = (8, 12, 13, 14)
"""Without an AIM identifier an all-digit code of these lengths is taken to be an EAN-8, UPC-A,
EAN-13 or GTIN-14: the scanner cannot say what it read, and a wrongly accepted digit costs more
than asking the installer to turn the AIM prefix on for numeric Code 128 cards."""


def parse_barcode(frame: bytes, *, aim_prefix: bool = False) -> Reading | None:
    """One scanned line as a barcode reading; None for an empty line.

    Raises `ParseError` (bad_check_digit, bad_length, bad_format) for an EAN/UPC/GTIN that does
    not check out.
    """
    text = frame_text(frame)
    symbology = None
    if aim_prefix and (match := _AIM_PREFIX.match(text)):
        symbology, text = match.group(), text[match.end() :]
    if not text:
        return None
    if symbology is None:
        if text.isascii() and text.isdigit() and len(text) in _GTIN_LENGTHS:
            _check_gtin(text)
    elif len(text) in _GTIN_SYMBOLOGIES.get(symbology, ()):
        _check_gtin(text)
    return Reading(IdentifierKind.BARCODE, text, symbology)


def _check_gtin(code: str) -> None:
    """Raise `ParseError` unless `code` is an EAN-8, UPC-A, EAN-13 or GTIN-14 whose check digit
    is right."""
    try:
        ean.validate(code)
    except InvalidChecksum:
        raise ParseError(
            RejectReason.BAD_CHECK_DIGIT,
            "EAN/UPC check digit is wrong: a digit was lost or misread, scan again",
        ) from None
    except InvalidLength:
        raise ParseError(RejectReason.BAD_LENGTH, "EAN/UPC code has the wrong length") from None
    except ValidationError:
        raise ParseError(RejectReason.BAD_FORMAT, "EAN/UPC code must be all digits") from None
