"""Loyalty, stored value, store credit, wallet and suites on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, SecretStr

from tillcrm.api.customers import PointsBalance
from tillcrm.domain import (
    EventPeriod,
    Int64,
    LedgerEntry,
    OverrideApproval,
    Season,
    Suite,
    SuiteStatus,
    Text,
)

__all__ = [
    "REVEAL_ACTION",
    "AuthorizedUserNew",
    "CardReveal",
    "LoyaltyOut",
    "RevealRequest",
    "StoreCreditOut",
    "StoredValueLoadRequest",
    "StoredValueOut",
    "SuiteOut",
    "SuitesOut",
    "WalletAdd",
    "WalletCardOut",
    "WalletUpdate",
]


class LoyaltyOut(BaseModel):
    """Points balances as the policy gives them, and the ledger."""

    accounts: list[PointsBalance]
    """Each account the till may see under the organization's points policy."""
    ledger: list[LedgerEntry]
    """Newest first, for the accounts shown."""


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
    currency: str
    ledger: list[LedgerEntry] = []
    """Charges (positive) and payments (negative), newest first."""


class WalletAdd(BaseModel):
    """A card to save. The number is tokenized at once and never stored."""

    card_number: Annotated[SecretStr, Field(max_length=40)]
    exp_month: Annotated[Int64, Field(ge=1, le=12)]
    exp_year: Annotated[Int64, Field(ge=2000, le=2100)]
    label: Annotated[Text, Field(max_length=60)] = ""


class WalletUpdate(BaseModel):
    """Change a saved card's expiry or label (the token stays)."""

    exp_month: Annotated[Int64, Field(ge=1, le=12)] | None = None
    exp_year: Annotated[Int64, Field(ge=2000, le=2100)] | None = None
    label: Annotated[Text, Field(max_length=60)] | None = None


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


class SuitesOut(BaseModel):
    """A customer's suites grouped by where they stand now."""

    ongoing: list[SuiteOut]
    upcoming: list[SuiteOut]
    closed: list[SuiteOut]


class StoredValueLoadRequest(BaseModel):
    """Money to add to the customer's stored-value card, in minor units (online only)."""

    amount: Annotated[Int64, Field(gt=0, le=100_000_000)]


REVEAL_ACTION = "stored_value_reveal"
"""The `BoundAction.kind` a supervisor approves to show a stored-value card number."""


class RevealRequest(BaseModel):
    """Show the full stored-value card number: only with a supervisor's approval."""

    override: OverrideApproval


class CardReveal(BaseModel):
    """The full stored-value card number, once, for the approved action."""

    card_number: str


class AuthorizedUserNew(BaseModel):
    """A person to authorize; the id may be made by the till."""

    id: UUID | None = None
    first_name: Annotated[Text, Field(min_length=1, max_length=200)]
    last_name: Annotated[Text, Field(max_length=200)] = ""
    phone: Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$", max_length=16)] | None = None
    allow_invoicing: bool = False
    allow_preorders: bool = False
