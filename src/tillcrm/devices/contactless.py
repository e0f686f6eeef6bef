"""Contactless (RFID/NFC) reads: RDM6300-style frames and line-based UID readers.

Every reader reports the same card as the same value: its UID in card byte order, upper-case hex,
so a card enrolled at one till is found at a till with another make of reader.
"""

from __future__ import annotations

import re
from functools import reduce
from operator import xor
from typing import Final, Literal

from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Reading
from tillcrm.devices.framing import frame_text
from tillcrm.domain import IdentifierKind

__all__ = ["ByteOrder", "UidFormat", "parse_rdm6300", "parse_uid_line", "xor_checksum"]

ByteOrder = Literal["big", "little"]
UidFormat = Literal["hex", "decimal"]

_RDM6300_HEX: Final = re.compile(r"[0-9A-Fa-f]{12}")
"""10 hex characters of card data (version byte + 4-byte id), then 2 of XOR checksum."""
_UID_SEPARATORS: Final = re.compile(r"[\s:-]")
_UID_BYTES: Final = range(4, 11)
"""ISO 14443 UIDs are 4, 7 or 10 bytes; EM4100 tags 5."""


def xor_checksum(data: bytes) -> int:
    """The RDM6300 checksum: all data bytes XORed together."""
    return reduce(xor, data, 0)


def parse_rdm6300(frame: bytes) -> Reading:
    """The payload between STX and ETX of an RDM6300 frame.

    Raises `ParseError` (bad_length, bad_checksum) for a frame cut short or corrupted on the wire.
    """
    if len(frame) != 12 or not frame.isascii():
        raise ParseError(RejectReason.BAD_LENGTH, "contactless frame is not 12 characters")
    text = frame.decode("ascii")
    if not _RDM6300_HEX.fullmatch(text):
        raise ParseError(RejectReason.BAD_FORMAT, "contactless frame is not hexadecimal")
    data = bytes.fromhex(text[:10])
    if xor_checksum(data) != int(text[10:], 16):
        raise ParseError(RejectReason.BAD_CHECKSUM, "contactless frame checksum is wrong")
    return Reading(IdentifierKind.RFID, data.hex().upper())


def parse_uid_line(
    frame: bytes, *, number_format: UidFormat, byte_order: ByteOrder = "big"
) -> Reading | None:
    """One line of a UID reader: hex (`04:A2:2B:91`, `04a22b91`) or decimal; None if empty.

    A little-endian reader sends the UID's bytes reversed; they are put back in card order.
    """
    text = frame_text(frame)
    if not text:
        return None
    uid = _hex_uid(text) if number_format == "hex" else _decimal_uid(text)
    if len(uid) not in _UID_BYTES:
        raise ParseError(RejectReason.BAD_LENGTH, "card UID is not 4 to 10 bytes long")
    if byte_order == "little":
        uid = uid[::-1]
    return Reading(IdentifierKind.RFID, uid.hex().upper())


def _hex_uid(text: str) -> bytes:
    digits = _UID_SEPARATORS.sub("", text)
    try:
        return bytes.fromhex(digits) if len(digits) % 2 == 0 else b""
    except ValueError:
        raise ParseError(RejectReason.BAD_FORMAT, "card UID is not hexadecimal") from None


def _decimal_uid(text: str) -> bytes:
    if not (text.isascii() and text.isdigit()) or len(text) > 25:
        raise ParseError(RejectReason.BAD_FORMAT, "card UID is not a decimal number")
    number = int(text)
    return number.to_bytes(max(4, (number.bit_length() + 7) // 8), "big")
