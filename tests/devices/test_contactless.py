"""Contactless readers: RDM6300 frames and line-based UID readers give one canonical value."""

from __future__ import annotations

import pytest

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.contactless import parse_rdm6300, parse_uid_line
from tillcrm.devices.decoder import Decoder
from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Identified, Reading, Rejected
from tillcrm.domain import IdentifierKind

TAG = b"\x0262E3086CED08\x03"
"""An RDM6300 frame: version 62, id E3086CED, checksum 62^E3^08^6C^ED = 08."""


def _rfid(value: str) -> Reading:
    return Reading(IdentifierKind.RFID, value)


def _decoder(**settings: object) -> Decoder:
    return Decoder.for_device(
        DeviceSettings.model_validate(
            {"name": "rfid", "kind": DeviceKind.CONTACTLESS, "url": "loop://", **settings}
        )
    )


def test_an_rdm6300_payload_is_read() -> None:
    assert parse_rdm6300(b"62E3086CED08") == _rfid("62E3086CED")
    assert parse_rdm6300(b"62e3086ced08") == _rfid("62E3086CED")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"62E3086CED09", RejectReason.BAD_CHECKSUM),
        (b"62E3086C", RejectReason.BAD_LENGTH),
        (b"62E3086CEDZZ", RejectReason.BAD_FORMAT),
        (b"62E3086CED\xff8", RejectReason.BAD_LENGTH),
    ],
)
def test_a_corrupted_rdm6300_payload_is_refused(payload: bytes, reason: RejectReason) -> None:
    with pytest.raises(ParseError) as caught:
        parse_rdm6300(payload)
    assert caught.value.reason is reason


def test_rdm6300_frames_merged_split_and_cut() -> None:
    decoder = _decoder(contactless_format="rdm6300")
    tap = Identified(IdentifierKind.RFID, "62E3086CED", "rfid")
    assert decoder.feed(b"noise" + TAG + TAG) == [tap, tap]
    assert [event for byte in TAG for event in decoder.feed(bytes([byte]))] == [tap]
    cut = decoder.feed(b"\x0262E308" + TAG)  # a frame cut by the next one
    assert [type(event) for event in cut] == [Rejected, Identified]
    assert cut[0] == Rejected("bad_length", "rfid", None, "contactless frame is not 12 characters")


@pytest.mark.parametrize(
    ("line", "number_format", "byte_order", "value"),
    [
        (b"04A22B91", "hex", "big", "04A22B91"),
        (b"04:a2:2b:91", "hex", "big", "04A22B91"),
        (b"04 A2 2B 91 C3 D4 80", "hex", "big", "04A22B91C3D480"),
        (b"912BA204", "hex", "little", "04A22B91"),
        (b"77736849", "decimal", "big", "04A22B91"),
        (b"2435555844", "decimal", "little", "04A22B91"),
    ],
)
def test_uid_lines_give_the_card_order_hex_uid(
    line: bytes, number_format: str, byte_order: str, value: str
) -> None:
    assert parse_uid_line(line, number_format=number_format, byte_order=byte_order) == _rfid(value)


@pytest.mark.parametrize(
    ("line", "number_format", "reason"),
    [
        (b"04A22B9", "hex", RejectReason.BAD_LENGTH),
        (b"0102", "hex", RejectReason.BAD_LENGTH),
        (b"04G22B91", "hex", RejectReason.BAD_FORMAT),
        (b"12AB", "decimal", RejectReason.BAD_FORMAT),
        (b"9" * 30, "decimal", RejectReason.BAD_FORMAT),
    ],
)
def test_bad_uid_lines_are_refused(line: bytes, number_format: str, reason: RejectReason) -> None:
    with pytest.raises(ParseError) as caught:
        parse_uid_line(line, number_format=number_format)
    assert caught.value.reason is reason


def test_line_readers_use_the_configured_terminator() -> None:
    decoder = _decoder(contactless_format="hex", terminator="CRLF", byte_order="little")
    assert decoder.feed(b"912BA204\r\n\r\n912B") == [
        Identified(IdentifierKind.RFID, "04A22B91", "rfid")
    ]
    assert decoder.feed(b"A204\r\n") == [Identified(IdentifierKind.RFID, "04A22B91", "rfid")]
