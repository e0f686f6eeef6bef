"""Phone numbers: one canonical E.164 form, so a number typed any way finds the same customer,
and the way a cashier reads one (`display_phone`)."""

from __future__ import annotations

import phonenumbers

__all__ = [
    "InvalidPhoneError",
    "display_phone",
    "normalize_phone",
    "phone_digits",
    "reversed_digits",
]


class InvalidPhoneError(ValueError):
    """The text is not a phone number that can be dialled."""


def normalize_phone(raw: str, region: str = "US") -> str:
    """Return `raw` as E.164 (`+14155550123`); numbers without `+` are read in `region`."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneError(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneError(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display_phone(stored: str | None, region: str = "US") -> str:
    """A stored number as a cashier reads it: a number of the till's `region` as it is dialled
    there (`(415) 555-0101`), any other with its country code (`+49 30 1234567`). Text that
    is not a number (an old record) is shown as stored; no number, as nothing."""
    if not stored:
        return ""
    try:
        parsed = phonenumbers.parse(stored, region)
    except phonenumbers.NumberParseException:
        return stored
    local = phonenumbers.region_code_for_number(parsed) == region.upper()
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if local
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def phone_digits(text: str) -> str:
    """The digits of `text`, for last-digits lookups typed with spaces or dashes."""
    return "".join(filter(str.isdigit, text))


def reversed_digits(e164: str) -> str:
    """Digits reversed: a B-tree prefix search on this finds numbers by their last digits."""
    return phone_digits(e164)[::-1]
