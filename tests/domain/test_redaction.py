"""The redaction every log handler carries: card numbers, tracks, tokens and keyed secrets go,
the ids, counts and masked numbers support needs stay."""

from __future__ import annotations

import io
import logging

import pytest

from tillcrm.domain.redaction import REDACTED, RedactingFilter, redact

TOKEN = "Jq3x9Kd0Lm2Zp7Rt5Vw8Yb1Nc4Hf6Gs0Ae2Ui9Oy3Tk"
"""Shaped like a till token (`secrets.token_urlsafe(32)`); fixed, so the test's id is the same
in every process that collects it."""


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("card 4111111111111111 swiped", "4111111111111111"),
        ("card 4111 1111 1111 1111 typed", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004 typed", "5500-0000-0000-0004"),
        ("raw %B4111111111111111^DOE/JOHN A^2512101000?", "DOE/JOHN A^2512101000"),
        ("raw ;4111111111111111=25121010000000000000?", "=25121010000000000000"),
        ("B4111111111111111^DOE/JOHN^2512101 read", "DOE/JOHN^2512101"),
        ("Authorization: Bearer abc.DEF-123", "abc.DEF-123"),
        ("login pin=123456 refused", "123456"),
        ('{"pin": "987654", "ok": true}', "987654"),
        ("register --enrollment-code=K7QX2MZ9TB", "K7QX2MZ9TB"),
        ("enrollment_code: K7QX2MZ9TB", "K7QX2MZ9TB"),
        ("till_token=s3cr3t-value", "s3cr3t-value"),
        (f"sent {TOKEN} to the CRM", TOKEN),
    ],
)
def test_a_secret_is_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "push of 200 op(s) (seq 1..200): 200 applied (CRM last seq 200)",
        "card 411111******1111 refused",
        "customer 0193a3c2-5f1e-7b44-9c1d-2a3b4c5d6e7f at 1765110000000",  # not Luhn-valid
        "operator brand-cashier logged in by code",
        "this till is not authorized: no bearer token",
        "msr rejected a read: payment_card (payment card, not a loyalty card)",
    ],
)
def test_what_support_needs_is_kept(text: str) -> None:
    assert redact(text) == text


def test_the_filter_redacts_arguments_extras_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(message)s %(fields)s"))
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("bad card 4111111111111111")
        except ValueError:
            fields = {"header": f"Bearer {TOKEN}"}
            log.exception("swipe %s", ";4111111111111111=2512?", extra={"fields": fields})
    finally:
        log.removeHandler(handler)
        log.propagate = True
    text = stream.getvalue()
    assert "ValueError: bad card [redacted]" in text
    assert "4111111111111111" not in text
    assert TOKEN not in text
    assert text.startswith(f"swipe {REDACTED} {{'header': 'Bearer {REDACTED}'}}")
