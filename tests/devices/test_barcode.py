"""Barcode scanner lines as real scanners send them: terminators, AIM identifiers, check digits."""

from __future__ import annotations

import pytest

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.barcode import parse_barcode
from tillcrm.devices.decoder import Decoder
from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Identified, Reading, Rejected
from tillcrm.domain import IdentifierKind


def _scanner(**settings: object) -> Decoder:
    return Decoder.for_device(
        DeviceSettings.model_validate(
            {"name": "scanner", "kind": DeviceKind.BARCODE, "url": "loop://", **settings}
        )
    )


@pytest.mark.parametrize(
    ("line", "value", "symbology"),
    [
        (b"]E04006381333931", "4006381333931", "]E0"),  # EAN-13
        (b"]E0036000291452", "036000291452", "]E0"),  # UPC-A
        (b"]E496385074", "96385074", "]E4"),  # EAN-8
        (b"]E001234565", "01234565", "]E0"),  # UPC-E short form: taken as it is
        (b"]C0LOYALTY-00042", "LOYALTY-00042", "]C0"),  # Code 128
        (b"]C10109506000134352", "0109506000134352", "]C1"),  # GS1-128
        (b"]Q1https://example.com/c/42?x=1", "https://example.com/c/42?x=1", "]Q1"),  # QR
        (b"\x00]E04006381333931\x07", "4006381333931", "]E0"),  # control characters stripped
    ],
)
def test_aim_prefixed_codes(line: bytes, value: str, symbology: str) -> None:
    assert parse_barcode(line, aim_prefix=True) == Reading(IdentifierKind.BARCODE, value, symbology)


@pytest.mark.parametrize("code", ["4006381333931", "96385074", "036000291452", "10614141000415"])
def test_gtins_without_aim_are_checked_and_taken(code: str) -> None:
    assert parse_barcode(code.encode()) == Reading(IdentifierKind.BARCODE, code)


@pytest.mark.parametrize(
    ("line", "aim"),
    [
        (b"4006381333932", False),  # a digit misread
        (b"400638133393", False),  # a 12-digit read of an EAN-13: the check digit fails
        (b"]E04006381333932", True),
        (b"]E496385075", True),
    ],
)
def test_a_wrong_check_digit_is_refused(line: bytes, aim: bool) -> None:
    with pytest.raises(ParseError) as caught:
        parse_barcode(line, aim_prefix=aim)
    assert caught.value.reason is RejectReason.BAD_CHECK_DIGIT
    assert line.decode()[-6:] not in str(caught.value)


def test_letters_announced_as_ean_are_refused() -> None:
    with pytest.raises(ParseError) as caught:
        parse_barcode(b"]E0ABCDEFGHIJKL", aim_prefix=True)
    assert caught.value.reason is RejectReason.BAD_FORMAT


def test_other_codes_without_aim_are_taken_as_they_are() -> None:
    assert parse_barcode(b"CARD 123") == Reading(IdentifierKind.BARCODE, "CARD 123")
    assert parse_barcode(b"]E0 is text here") == Reading(IdentifierKind.BARCODE, "]E0 is text here")


def test_a_blank_line_is_no_read() -> None:
    assert parse_barcode(b"") is None
    assert parse_barcode(b" \x00 ", aim_prefix=True) is None
    assert parse_barcode(b"]E0", aim_prefix=True) is None


@pytest.mark.parametrize(
    ("terminator", "stream"),
    [
        ("CR", b"]E04006381333931\r]C0A-1\r"),
        ("LF", b"]E04006381333931\n]C0A-1\n"),
        ("CRLF", b"]E04006381333931\r\n]C0A-1\r\n"),
    ],
)
def test_each_terminator_ends_a_scan(terminator: str, stream: bytes) -> None:
    decoder = _scanner(terminator=terminator, aim_prefix=True)
    assert decoder.feed(stream) == [
        Identified(IdentifierKind.BARCODE, "4006381333931", "scanner", "]E0"),
        Identified(IdentifierKind.BARCODE, "A-1", "scanner", "]C0"),
    ]


def test_a_scan_split_over_many_reads_is_one_code() -> None:
    decoder = _scanner(terminator="CRLF", aim_prefix=True)
    stream = b"]E04006381333931\r\n"
    events = [event for byte in stream for event in decoder.feed(bytes([byte]))]
    assert events == [Identified(IdentifierKind.BARCODE, "4006381333931", "scanner", "]E0")]


def test_a_bad_check_digit_is_reported_as_a_rejection() -> None:
    decoder = _scanner()
    assert decoder.feed(b"4006381333932\r") == [
        Rejected(
            "bad_check_digit",
            "scanner",
            None,
            "EAN/UPC check digit is wrong: a digit was lost or misread, scan again",
        )
    ]


def test_endless_noise_is_cut_and_rejected() -> None:
    decoder = _scanner()
    events = decoder.feed(b"x" * 9000)
    assert [type(event) for event in events] == [Rejected]
    assert decoder.feed(b"4006381333931\r") == [
        Identified(IdentifierKind.BARCODE, "4006381333931", "scanner")
    ]
