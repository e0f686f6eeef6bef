"""Property tests: arbitrary bytes never raise anything but the typed parse error, and payment
card data never reaches an exception, an event or a log line."""

from __future__ import annotations

import contextlib
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import luhn

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.barcode import parse_barcode
from tillcrm.devices.contactless import parse_rdm6300, parse_uid_line
from tillcrm.devices.decoder import Decoder, Parser
from tillcrm.devices.errors import ParseError
from tillcrm.devices.events import Identified, Rejected
from tillcrm.devices.magstripe import parse_swipe
from tillcrm.devices.simulator import swipe_frame

PARSERS: dict[str, Parser] = {
    "barcode": parse_barcode,
    "barcode-aim": lambda frame: parse_barcode(frame, aim_prefix=True),
    "magstripe": parse_swipe,
    "rdm6300": parse_rdm6300,
    "hex": lambda frame: parse_uid_line(frame, number_format="hex"),
    "decimal": lambda frame: parse_uid_line(frame, number_format="decimal", byte_order="little"),
}

DEVICES = [
    DeviceSettings(name="scanner", kind=DeviceKind.BARCODE, url="loop://", aim_prefix=True),
    DeviceSettings(name="msr", kind=DeviceKind.MAGSTRIPE, url="loop://"),
    DeviceSettings(name="rfid", kind=DeviceKind.CONTACTLESS, url="loop://"),
    DeviceSettings(
        name="uid", kind=DeviceKind.CONTACTLESS, url="loop://", contactless_format="decimal"
    ),
]

# Bytes that look like reader output: sentinels, separators and control bytes come up often.
reader_bytes = st.binary(max_size=300) | st.lists(
    st.sampled_from(list(b"%;+?^=E0123456789ABCDEF]\x02\x03\x0d\x0a\x10\x1b")), max_size=120
).map(bytes)


@pytest.mark.parametrize("name", PARSERS)
@given(frame=reader_bytes)
def test_a_parser_raises_only_its_typed_error(name: str, frame: bytes) -> None:
    with contextlib.suppress(ParseError):
        PARSERS[name](frame)


@pytest.mark.parametrize("device", DEVICES, ids=lambda device: device.name)
@given(chunks=st.lists(reader_bytes, max_size=8))
def test_a_decoder_turns_any_stream_into_events(
    device: DeviceSettings, chunks: list[bytes]
) -> None:
    decoder = Decoder.for_device(device)
    events = [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.flush()
    assert all(isinstance(event, Identified | Rejected) for event in events)


@st.composite
def payment_swipes(draw: st.DrawFn) -> tuple[bytes, str, list[str]]:
    """A payment card swipe in any reader framing: the frame, its PAN, its raw tracks."""
    prefix = draw(st.sampled_from(["4", "51", "55", "34", "37", "6011"]))
    length = draw(st.integers(13, 19))
    body = prefix + draw(
        st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1)
    )
    pan = body + luhn.calc_check_digit(body)
    expiry = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    service = draw(st.from_regex(r"[0-9]{3}[0-9]{0,10}", fullmatch=True))
    name = draw(st.from_regex(r"[A-Z]{1,10}/[A-Z]{1,10}", fullmatch=True))
    track1 = f"B{pan}^{name}^{expiry}{service}"
    track2 = f"{pan}={expiry}{service}"
    which = draw(st.sampled_from(["both", "track1", "track2"]))
    frame = swipe_frame(
        track1=track1 if which != "track2" else draw(st.sampled_from([None, "E"])),
        track2=track2 if which != "track1" else draw(st.sampled_from([None, "E"])),
        framing=draw(st.sampled_from(["magtek", "idtech", "iso"])),
    )
    return frame, pan, [track1, track2]


def _corrupt(data: st.DataObject, frame: bytes) -> bytes:
    """The frame cut short, with bytes changed or inserted, as a bad swipe or cable makes it."""
    frame = frame[: data.draw(st.integers(0, len(frame)))] if data.draw(st.booleans()) else frame
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(frame)))
        frame = frame[:at] + data.draw(st.binary(min_size=1, max_size=3)) + frame[at + 1 :]
    return frame


def _assert_hidden(text: str, pan: str, tracks: list[str]) -> None:
    assert pan not in text
    for track in tracks:
        assert track not in text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(swipe=payment_swipes())
def test_a_payment_swipe_yields_only_the_masked_number(
    swipe: tuple[bytes, str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    frame, pan, tracks = swipe
    caplog.clear()
    decoder = Decoder.for_device(DEVICES[1])
    with caplog.at_level(logging.DEBUG):
        events = decoder.feed(frame) + decoder.flush()  # bare ISO swipes end by falling quiet
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, Rejected)
    assert (event.reason, event.masked) == (
        "payment_card",
        pan[:6] + "*" * (len(pan) - 10) + pan[-4:],
    )
    assert "payment_card" in caplog.text  # the rejection is logged ...
    _assert_hidden(caplog.text + repr(event), pan, tracks)  # ... without the card


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(swipe=payment_swipes(), data=st.data())
def test_a_mangled_payment_swipe_never_leaks_into_errors_or_logs(
    swipe: tuple[bytes, str, list[str]], data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    frame, pan, tracks = swipe
    frame = _corrupt(data, frame)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            parse_swipe(frame)
        except ParseError as error:
            _assert_hidden(f"{error} {error!r} {error.args} {error.masked}", pan, tracks)
        decoder = Decoder.for_device(DEVICES[1])
        for event in decoder.feed(frame) + decoder.flush():
            if isinstance(event, Rejected):
                _assert_hidden(repr(event), pan, tracks)
    _assert_hidden(caplog.text, pan, tracks)
