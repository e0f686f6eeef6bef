"""Customers on the wire: the full record, search rows, create and update requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from tillcrm.domain import (
    AuthorizedUser,
    CustomerProfile,
    Flag,
    Identifier,
    IdentifierKind,
    Int64,
    Name,
    Store,
    Tender,
    TransactionLine,
)

__all__ = [
    "AccountBalances",
    "CustomerCreate",
    "CustomerOut",
    "CustomerPatch",
    "CustomerSummary",
    "IdentifyResult",
    "PointsBalance",
    "Receipt",
    "TransactionSummary",
]


class PointsBalance(BaseModel):
    """One points account: the shared pool (`brand_id` None) or one brand's wallet."""

    brand_id: str | None
    balance: int


class AccountBalances(BaseModel):
    """Balances a till may show and check offline, with the time the CRM read them."""

    points: list[PointsBalance] = []
    stored_value: int | None = None
    """Stored-value balance in minor units; None when no card is assigned."""
    store_credit_owed: int = 0
    """House-account debt in minor units."""
    as_of: datetime


class CustomerOut(BaseModel):
    """A customer as a till in scope sees them."""

    id: UUID
    version: int
    org_id: str
    brand_id: str | None
    profile: CustomerProfile
    identifiers: list[Identifier] = []
    authorized_users: list[AuthorizedUser] = []
    balances: AccountBalances
    label: str = ""
    """This organization's label for the customer (connected orgs keep one per org)."""
    status: str = ""
    """This organization's status for the customer."""
    created_at: datetime
    updated_at: datetime


class CustomerSummary(BaseModel):
    """A row of the customer grid: number, name, contact, loyalty points."""

    id: UUID
    customer_number: str
    first_name: str
    last_name: str
    company: str
    mobile: str | None
    email: str | None
    points: int
    active: bool


class IdentifyResult(BaseModel):
    """The customer a card, tag or phone belongs to, and how they were identified."""

    customer: CustomerOut
    kind: IdentifierKind


class CustomerCreate(BaseModel):
    """A new customer; the id may be made by the till so it can be used offline at once."""

    id: UUID | None = None
    profile: CustomerProfile
    identifiers: list[Identifier] = []
    authorized_users: list[AuthorizedUser] = []
    independent: Flag = False
    """At a connected child: a profile of the child's own, which the parent cannot see."""


class CustomerPatch(BaseModel):
    """Changed profile fields, against the version the editor started from."""

    base_version: Annotated[Int64, Field(ge=1)]
    changes: dict[Name, Any]
    """Top-level `CustomerProfile` fields and their new values."""


class TransactionSummary(BaseModel):
    """A row of the purchase history: when, where (the store and till by name, as the cashier
    knows them), how much, and the points it moved."""

    id: UUID
    number: str
    at: datetime
    brand_id: str
    store_id: str
    store_name: str
    till_id: str
    till_name: str
    currency: str
    total: int
    """Minor units."""
    points_earned: int
    points_redeemed: int


class Receipt(TransactionSummary):
    """One transaction as printed: lines, tenders and who rang it up where."""

    customer_id: UUID
    lines: list[TransactionLine]
    tenders: list[Tender]
    store: Store
    operator_id: str | None
    operator_name: str | None
    go_green: bool
    """The customer asked for no printed receipts: show it, do not reprint it."""
