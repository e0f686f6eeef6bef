"""Loyalty, stored value, store credit, wallet and suites on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, SecretStr

from tillcrm.domain import EventPeriod, LedgerEntry, Season, Suite, SuiteStatus

__all__ = [
    "LoyaltyOut",
    "StoreCreditOut",
    "StoredValueOut",
    "SuiteOut",
    "WalletAdd",
    "WalletCardOut",
    "WalletUpdate",
]


class LoyaltyOut(BaseModel):
    """Points balances as the policy gives them, and the ledger."""

    accounts: list[dict[str, int | str | None]]
    """`{"brand_id": ..., "balance": ...}` per account the till may see."""
    ledger: list[LedgerEntry]


class StoredValueOut(BaseModel):
    """The stored-value card: masked number, balance, limits and what is used of them."""

    card_number_masked: str
    balance: int
    currency: str
    per_event_limit: int | None
    reset_after_event: bool
    per_season_limit: int | None
    current_event: EventPeriod | None
    event_used: int
    current_season: Season | None
    season_used: int
    as_of: datetime


class StoreCreditOut(BaseModel):
    """The house account."""

    limit: int
    owed: int
    available: int


class WalletAdd(BaseModel):
    """A card to save. The number is tokenized at once and never stored."""

    card_number: SecretStr
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2100)]
    label: Annotated[str, Field(max_length=60)] = ""


class WalletUpdate(BaseModel):
    """Change a saved card's expiry or label (the token stays)."""

    exp_month: Annotated[int, Field(ge=1, le=12)] | None = None
    exp_year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    label: Annotated[str, Field(max_length=60)] | None = None


class WalletCardOut(BaseModel):
    """A saved card as a till may show it."""

    id: UUID
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    label: str


class SuiteOut(BaseModel):
    """A suite and where it stands now."""

    suite: Suite
    status: SuiteStatus
