"""Keyboard-wedge detection: a fast burst ending in Enter is a scan, anything slower is typing."""

from __future__ import annotations

import logging

import pytest

from tillcrm.devices.events import Identified, Rejected
from tillcrm.devices.wedge import (
    WEDGE_SOURCE,
    Scanned,
    Typed,
    WedgeDetector,
    WedgeOutput,
    read_scan,
)
from tillcrm.domain import IdentifierKind


def _keys(detector: WedgeDetector, keys: list[str], start: float, gap: float) -> list[WedgeOutput]:
    out: list[WedgeOutput] = []
    for index, key in enumerate(keys):
        out.extend(detector.feed(key, start + index * gap))
    return out


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    detector = WedgeDetector()
    assert _keys(detector, [*"4006381333931", "enter"], 0.0, 0.004) == [Scanned("4006381333931")]
    assert not detector.pending


def test_slow_keys_are_typing_one_by_one() -> None:
    detector = WedgeDetector()
    out = _keys(detector, list("ab12"), 0.0, 0.150)
    assert out == [Typed(("a",)), Typed(("b",)), Typed(("1",))]
    assert detector.pending  # the last key waits to see whether a burst follows
    assert detector.flush(0.45 + 0.029) == []
    assert detector.flush(0.45 + 0.031) == [Typed(("2",))]
    assert detector.feed("enter", 0.7) == [Typed(("enter",))]  # a lone Enter goes at once


def test_a_fast_burst_that_stops_without_enter_is_typing() -> None:
    detector = WedgeDetector()
    assert _keys(detector, list("12345"), 0.0, 0.005) == []
    assert detector.flush(0.020 + 0.031) == [Typed(tuple("12345"))]


def test_a_short_burst_with_enter_stays_typing() -> None:
    detector = WedgeDetector(min_length=4)
    assert _keys(detector, ["o", "k", "enter"], 0.0, 0.005) == [Typed(("o", "k", "enter"))]


def test_a_pause_inside_a_burst_splits_it() -> None:
    detector = WedgeDetector()
    out = _keys(detector, list("xy"), 0.0, 0.005)
    out += _keys(detector, [*"96385074", "enter"], 0.5, 0.005)
    assert out == [Typed(("x", "y")), Scanned("96385074")]


def test_a_special_key_releases_what_was_held() -> None:
    detector = WedgeDetector()
    assert _keys(detector, ["a", "b", "backspace"], 0.0, 0.005) == [Typed(("a", "b", "backspace"))]


def test_the_timing_and_length_are_configurable() -> None:
    detector = WedgeDetector(max_gap=0.080, min_length=2, enter="return")
    assert _keys(detector, ["4", "2", "return"], 0.0, 0.060) == [Scanned("42")]
    with pytest.raises(ValueError, match="max_gap"):
        WedgeDetector(max_gap=0)
    with pytest.raises(ValueError, match="min_length"):
        WedgeDetector(min_length=0)


def test_a_wedge_burst_goes_through_the_same_parsers_as_a_serial_reader() -> None:
    loyalty = read_scan(Scanned(";6001234567=?"))
    assert isinstance(loyalty, Identified)
    assert (loyalty.kind, loyalty.value, loyalty.source) == (
        IdentifierKind.MAGSTRIPE,
        "6001234567",
        WEDGE_SOURCE,
    )
    payment = read_scan(Scanned("%B4111111111111111^DOE/JOHN^2512101?;4111111111111111=2512101?"))
    assert isinstance(payment, Rejected)
    assert payment.reason == "payment_card"
    assert payment.masked == "411111******1111"
    assert "4111111111111111" not in repr(payment)
    barcode = read_scan(Scanned("5901234123457"))
    assert isinstance(barcode, Identified)
    assert barcode.kind is IdentifierKind.BARCODE
    misread = read_scan(Scanned("5901234123458"))
    assert isinstance(misread, Rejected)
    assert misread.reason == "bad_check_digit"


def test_a_wedge_read_is_logged_by_kind_never_by_value(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tillcrm"):
        read_scan(Scanned("5901234123457"))
        read_scan(Scanned("%B4111111111111111^DOE/JOHN^2512101?;4111111111111111=2512101?"))
    assert [record.getMessage() for record in caplog.records] == [
        f"device {WEDGE_SOURCE}: scan of a barcode identifier",
        f"{WEDGE_SOURCE} rejected a read: payment_card (payment card, not a loyalty card)",
    ]
