"""Magnetic stripe swipes in the framings real readers use: loyalty and gift cards are read,
failed tracks are named, payment cards are refused with only their masked number."""

from __future__ import annotations

import pytest

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.decoder import Decoder
from tillcrm.devices.errors import ParseError, RejectReason
from tillcrm.devices.events import Identified, Reading, Rejected
from tillcrm.devices.magstripe import parse_swipe, track_lrc
from tillcrm.domain import IdentifierKind

VISA_T1 = b"%B4111111111111111^DOE/JOHN^2512101000000000000?"
VISA_T2 = b";4111111111111111=25121010000000000000?"


def _loyalty(value: str) -> Reading:
    return Reading(IdentifierKind.MAGSTRIPE, value)


def _refused(frame: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_swipe(frame)
    return caught.value


@pytest.mark.parametrize(
    ("frame", "value"),
    [
        # bare ISO 7813 tracks, as a keyboard-style serial reader sends them
        (b";6001234567890?\r", "6001234567890"),
        (b"%A6001234567^SMITH/JANE^?;6001234567=9912?\r", "6001234567"),
        # MagTek: STX ESC tracks CR ETX, every part optional
        (b"\x02\x1b%M6001234567^GIFT CARD^?;6001234567?+0042?\r\x03", "6001234567"),
        (b"\x1b;6001234567?", "6001234567"),
        # ID TECH: each track on its own line
        (b"%M77001^GIFT^?\r;77001?\r", "77001"),
        # ID TECH: STX, each track with its LRC and DLE, ETX ("0" is the LRC of ;1234?)
        (b"\x02;1234?0\x10\x03", "1234"),
        # one track only: track 1 alone, track 3 alone
        (b"%A6001234567^SMITH/JANE^?\r", "6001234567"),
        (b"+0042123?\r", "0042123"),
        # a 16-digit Luhn-valid loyalty number without an expiry is not a payment card
        (b";6037991234567893?\r", "6037991234567893"),
    ],
)
def test_loyalty_and_gift_cards_are_read(frame: bytes, value: str) -> None:
    assert parse_swipe(frame) == _loyalty(value)


def test_the_hand_computed_lrc_matches() -> None:
    # ;=0xB 1 2 3 4 ?=0xF XORed is 0, written as "0"
    assert track_lrc(2, "1234") == "0"
    assert track_lrc(3, "1234") == "0"  # track 3's start sentinel is ; on the card


def test_a_failed_track_is_skipped_when_another_was_read() -> None:
    assert parse_swipe(b"%E?;6001234567?+E?\r") == _loyalty("6001234567")


def test_failed_tracks_are_reported_per_track() -> None:
    error = _refused(b"%E?;E?+E?\r")
    assert error.reason is RejectReason.TRACK_READ_ERROR
    assert str(error) == "track 1: not read; track 2: not read; track 3: not read: swipe again"


def test_a_track_without_end_sentinel_is_a_read_error() -> None:
    error = _refused(b";60012345")
    assert error.reason is RejectReason.TRACK_READ_ERROR
    assert str(error) == "track 2: not read: swipe again"


def test_a_wrong_lrc_is_reported() -> None:
    error = _refused(b"\x02;1234?5\x10\x03")
    assert error.reason is RejectReason.BAD_LRC
    assert str(error) == "track 2: LRC check failed: swipe again"


@pytest.mark.parametrize(
    "frame",
    [
        b"\x02\x1b" + VISA_T1 + VISA_T2 + b"\r\x03",  # MagTek, both tracks
        VISA_T2 + b"\r",  # track 2 only: Luhn-valid with an expiry
        VISA_T1 + b"\r",  # track 1 only: format code B
        b"%E?" + VISA_T2 + b"\r",  # track 1 failed
        b"%B4111111111111111^DOE/JOHN^2512101?;6001234567?\r",  # a loyalty track 2 too
        b"\x02" + VISA_T2 + track_lrc(2, VISA_T2[1:-1].decode()).encode() + b"\x10\x03",
    ],
)
def test_a_payment_card_is_refused_with_only_its_masked_number(frame: bytes) -> None:
    error = _refused(frame)
    assert error.reason is RejectReason.PAYMENT_CARD
    assert error.masked == "411111******1111"
    assert str(error) == "payment card, not a loyalty card"
    assert "4111111111111111" not in repr(error)
    assert "4111111111111111" not in repr(error.rejected("msr"))


def test_a_mastercard_on_track_2_alone_is_refused() -> None:
    error = _refused(b";5555555555554444=28121010000000000000?")
    assert (error.reason, error.masked) == (RejectReason.PAYMENT_CARD, "555555******4444")


@pytest.mark.parametrize("frame", [b"\x1b1", b"\x1b0", b"\x1b"])
def test_magtek_card_sensor_messages_are_no_read(frame: bytes) -> None:
    assert parse_swipe(frame) is None


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"hello\r", RejectReason.UNREADABLE),
        (b";1?;2?;3?\r", RejectReason.UNREADABLE),  # the same track three times
        (b"%^^?\r", RejectReason.UNREADABLE),  # no account number
        (b";12a4?\r", RejectReason.TRACK_READ_ERROR),  # a letter on a numeric track
    ],
)
def test_what_is_not_a_swipe_is_refused(frame: bytes, reason: RejectReason) -> None:
    assert _refused(frame).reason is reason


def _msr() -> Decoder:
    return Decoder.for_device(DeviceSettings(name="msr", kind=DeviceKind.MAGSTRIPE, url="loop://"))


def test_etx_ends_a_swipe_at_once_and_two_swipes_in_one_read_are_two() -> None:
    decoder = _msr()
    stream = b"\x02\x1b;6001234567?\r\x03\x02\x1b" + VISA_T1 + VISA_T2 + b"\r\x03"
    assert decoder.feed(stream) == [
        Identified(IdentifierKind.MAGSTRIPE, "6001234567", "msr"),
        Rejected("payment_card", "msr", "411111******1111", "payment card, not a loyalty card"),
    ]
    assert not decoder.framer.holding


def test_a_swipe_without_etx_ends_when_the_line_falls_quiet() -> None:
    decoder = _msr()
    assert decoder.feed(b"%A77001^GIFT^?\r") == []
    assert decoder.feed(b";77001?\r") == []
    assert decoder.framer.holding
    assert decoder.flush() == [Identified(IdentifierKind.MAGSTRIPE, "77001", "msr")]
    assert decoder.flush() == []


def test_a_new_track_1_after_a_line_end_starts_the_next_swipe() -> None:
    decoder = _msr()
    assert decoder.feed(b"%A1^X^?\r;1?\r%A2^Y^?\r") == [
        Identified(IdentifierKind.MAGSTRIPE, "1", "msr")
    ]
    assert decoder.flush() == [Identified(IdentifierKind.MAGSTRIPE, "2", "msr")]


def test_a_swipe_split_byte_by_byte_is_one_swipe() -> None:
    decoder = _msr()
    stream = b"\x02\x1b%A6001234567^SMITH/JANE^?;6001234567?\r\x03"
    events = [event for byte in stream for event in decoder.feed(bytes([byte]))]
    assert events == [Identified(IdentifierKind.MAGSTRIPE, "6001234567", "msr")]
