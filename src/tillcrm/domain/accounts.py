"""Customer accounts: points, stored value, store credit, wallet; events and seasons.

Points and stored value are append-only ledgers keyed by the op that caused them, so a resent op
can never move a balance twice; a balance is the sum of its ledger.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EventPeriod",
    "LedgerEntry",
    "PointsAccount",
    "PromotionCategory",
    "Season",
    "StoredValueCard",
    "WalletCard",
]


class PromotionCategory(BaseModel):
    """Sales rules for a class of customer: discount, points earned, credit limit."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    discount_percent: Annotated[int, Field(ge=0, le=100)] = 0
    points_per_unit: Annotated[int, Field(ge=0)] = 1
    """Points earned per whole currency unit spent."""
    credit_limit: Annotated[int, Field(ge=0)] | None = None
    """House-account limit for the category, in minor units; a customer's own limit wins."""


class PointsAccount(BaseModel):
    """A points balance: the pool (`brand_id` None) or one brand's wallet."""

    customer_id: UUID
    brand_id: str | None
    balance: int


class EventPeriod(BaseModel):
    """An event (a game, a concert) during which the per-event stored-value limit applies."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    season_id: str | None = None


class Season(BaseModel):
    """A season: the per-season stored-value limit counts spending between these dates."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    starts_on: date
    ends_on: date


class StoredValueCard(BaseModel):
    """A virtual stored-value (gift) card assigned to a customer, with spending limits."""

    card_number: str
    """The full virtual card number; show it masked unless a supervisor reveals it."""
    balance: int
    currency: str
    per_event_limit: Annotated[int, Field(ge=0)] | None = None
    reset_after_event: bool = True
    """The per-event usage starts again at each new event."""
    per_season_limit: Annotated[int, Field(ge=0)] | None = None


class LedgerEntry(BaseModel):
    """One movement of points, stored value or store credit, caused by exactly one op."""

    op_id: UUID
    delta: int
    """Points, or minor units; positive adds to the balance."""
    reason: str
    at: datetime
    brand_id: str | None = None
    event_id: str | None = None
    season_id: str | None = None
    till_id: str | None = None


class WalletCard(BaseModel):
    """A saved payment method: a processor token and what may be shown. Never the card number."""

    id: UUID
    brand: Annotated[str, Field(max_length=20)]
    last4: Annotated[str, Field(pattern=r"^\d{4}$")]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2100)]
    token: Annotated[str, Field(min_length=8, max_length=128)]
    label: Annotated[str, Field(max_length=60)] = ""
