"""What happens at a till: visits, transactions with lines and tenders, suites, audit entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from tillcrm.domain.bounds import Int64, Text
from tillcrm.domain.customer import IdentifierKind

__all__ = [
    "AuditEntry",
    "Suite",
    "SuiteStatus",
    "Tender",
    "TenderKind",
    "Transaction",
    "TransactionLine",
    "Visit",
    "suite_status",
]


class Visit(BaseModel):
    """A customer identified at a till: who, where and how."""

    customer_id: UUID
    till_id: str
    store_id: str
    operator_id: str | None
    method: IdentifierKind | None
    """None when the customer was picked from a search rather than identified by an id."""
    at: datetime


class TenderKind(StrEnum):
    """How a transaction was paid."""

    CASH = "cash"
    CARD = "card"
    POINTS = "points"
    STORED_VALUE = "stored_value"
    STORE_CREDIT = "store_credit"


class Tender(BaseModel):
    """One payment of a transaction, in minor units."""

    kind: TenderKind
    amount: int


MAX_QUANTITY = 10_000
MAX_UNIT_PRICE = 100_000_000
"""Bounds of one line (a million major units at most), so no sum of a sale's lines overflows."""


class TransactionLine(BaseModel):
    """One item of a transaction."""

    description: Annotated[Text, Field(max_length=200)]
    quantity: Annotated[Int64, Field(ge=1, le=MAX_QUANTITY)] = 1
    unit_price: Annotated[Int64, Field(ge=-MAX_UNIT_PRICE, le=MAX_UNIT_PRICE)]
    """Minor units; negative for a discount or a return."""

    @property
    def total(self) -> int:
        """Quantity times unit price, in minor units."""
        return self.quantity * self.unit_price


class Transaction(BaseModel):
    """A completed sale with its receipt details."""

    id: UUID
    number: str
    customer_id: UUID
    store_id: str
    brand_id: str
    till_id: str
    operator_id: str | None
    at: datetime
    currency: str
    lines: list[TransactionLine]
    tenders: list[Tender]
    points_earned: int = 0
    points_redeemed: int = 0

    @property
    def total(self) -> int:
        """Sum of the lines, in minor units."""
        return sum(line.total for line in self.lines)


class SuiteStatus(StrEnum):
    """Where a suite booking stands relative to now."""

    UPCOMING = "upcoming"
    ONGOING = "ongoing"
    CLOSED = "closed"


class Suite(BaseModel):
    """A suite assigned to a customer for an event."""

    id: UUID
    name: Annotated[str, Field(max_length=120)]
    event_name: Annotated[str, Field(max_length=120)]
    starts_at: datetime
    ends_at: datetime


def suite_status(suite: Suite, now: datetime) -> SuiteStatus:
    """Upcoming before it starts, ongoing until it ends, closed after."""
    if now < suite.starts_at:
        return SuiteStatus.UPCOMING
    if now <= suite.ends_at:
        return SuiteStatus.ONGOING
    return SuiteStatus.CLOSED


class AuditEntry(BaseModel):
    """Who did what to which customer, from which org and till; overrides name both operators."""

    at: datetime
    org_id: str
    till_id: str | None
    operator_id: str | None
    approver_id: str | None = None
    action: str
    customer_id: UUID | None = None
    op_id: UUID | None = None
    change_request_id: str | None = None
    detail: str = ""
