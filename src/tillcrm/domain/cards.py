"""Payment-card numbers: recognise them so they can be refused, and never show them whole."""

from __future__ import annotations

from stdnum import luhn

__all__ = ["card_brand", "is_luhn_valid", "last4", "looks_like_pan", "mask_pan", "mask_tail"]


def is_luhn_valid(digits: str) -> bool:
    """True when `digits` is all digits and passes the Luhn check."""
    return digits.isdigit() and luhn.is_valid(digits)


def looks_like_pan(digits: str) -> bool:
    """A 13-19 digit, Luhn-valid number: treat it as a payment card number (PCI DSS scope)."""
    return 13 <= len(digits) <= 19 and is_luhn_valid(digits)


def mask_pan(digits: str) -> str:
    """First 6 and last 4 at most (PCI DSS 3.3), e.g. `411111******1111`."""
    if len(digits) < 13:
        return mask_tail(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_tail(number: str, visible: int = 4) -> str:
    """Everything but the last `visible` characters hidden, e.g. a stored-value card number."""
    if len(number) <= visible:
        return "*" * len(number)
    return "*" * (len(number) - visible) + number[-visible:]


def last4(digits: str) -> str:
    """The last four digits, the only part of a card number a wallet keeps."""
    return digits[-4:]


def card_brand(digits: str) -> str:
    """The card scheme from the number's first digits (what a processor would tell us)."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "discover"
    return "card"
