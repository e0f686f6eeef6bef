"""Money in integer minor units with an ISO 4217 currency. No floats anywhere."""

from __future__ import annotations

from typing import Annotated, Self

from babel.numbers import get_currency_precision
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Currency", "Money", "minor_per_major"]

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


def minor_per_major(currency: str) -> int:
    """Minor units in one major unit (100 for USD, 1 for JPY, 1000 for KWD)."""
    return int(10 ** get_currency_precision(currency))


class Money(BaseModel):
    """An amount in minor units (cents) of one currency; arithmetic refuses to mix currencies."""

    model_config = ConfigDict(frozen=True)

    amount: int
    """Minor units; negative for refunds and credits."""
    currency: Currency
    """ISO 4217 code."""

    @classmethod
    def zero(cls, currency: str) -> Self:
        """No money, in `currency`."""
        return cls(amount=0, currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount
