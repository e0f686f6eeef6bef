"""Money as text: minor units shown and typed in the till's configured locale and currency.

Amounts live everywhere else as integer minor units; only here do they become text, through
Babel, so a till in Berlin shows `12,50 €` and one in Tokyo `￥1,250` from the same integers.
Headless (no Textual), so a printed receipt and the screens format money alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import NumberFormatError, format_currency, parse_decimal

from tillcrm.domain.money import minor_per_major

__all__ = ["MoneyFormat", "MoneyInputError"]


class MoneyInputError(ValueError):
    """Typed text that is not an amount of the till's currency; the message is for the cashier."""


@dataclass(frozen=True)
class MoneyFormat:
    """The till's locale and currency (`[locale]` in the config)."""

    locale: str = "en_US"
    currency: str = "USD"

    def format(self, minor: int, currency: str | None = None) -> str:
        """`minor` units of `currency` (default: the till's) as the locale writes money."""
        code = currency or self.currency
        major = Decimal(minor) / minor_per_major(code)
        return str(format_currency(major, code, locale=self.locale))

    def plain(self, minor: int) -> str:
        """`minor` units of the till's currency as a cashier types them back (`1234.50`):
        no symbol, no grouping, so `parse` reads it unchanged."""
        major = Decimal(minor) / minor_per_major(self.currency)
        return str(format_currency(major, self.currency, format="0.00", locale=self.locale))

    def parse(self, text: str) -> int:
        """Typed money (`12.50`, `12,50` in a comma locale, `12`) as minor units of the till's
        currency; more decimals than the currency has, or a negative amount, is refused."""
        try:
            major = parse_decimal(text.strip(), locale=self.locale)
        except (NumberFormatError, InvalidOperation) as error:
            raise MoneyInputError(f"{text.strip() or 'nothing'} is not an amount") from error
        minor = major * minor_per_major(self.currency)
        if minor != minor.to_integral_value():
            raise MoneyInputError(f"{self.currency} has no smaller unit than {self.format(1)}")
        if minor < 0:
            raise MoneyInputError("the amount cannot be negative")
        return int(minor)
