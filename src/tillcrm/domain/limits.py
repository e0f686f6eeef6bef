"""Limits on what a sale may charge, and the points a sale earns.

The till checks these before the sale completes and the CRM checks them again when the op
arrives; both call these functions, so both refuse the same charges.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tillcrm.domain.accounts import PromotionCategory
from tillcrm.domain.money import minor_per_major

__all__ = [
    "ChargeContext",
    "LimitBreach",
    "LimitKind",
    "check_limits",
    "credit_limit_for",
    "points_earned",
]


class LimitKind(StrEnum):
    """Which limit a charge breaks."""

    TRANSACTION = "transaction"
    CREDIT = "credit"
    PER_EVENT = "per_event"
    PER_SEASON = "per_season"
    OFFLINE = "offline"
    BALANCE = "balance"
    INACTIVE = "inactive"


class LimitBreach(BaseModel):
    """A limit a charge would break: which one, its value, and by how much it is exceeded."""

    model_config = ConfigDict(frozen=True)

    kind: LimitKind
    limit: int
    """The limit, in minor units (points for a redemption)."""
    excess: int
    """How far past the limit the charge would go (> 0)."""

    def describe(self) -> str:
        """One line a cashier can read aloud to a supervisor."""
        return f"{self.kind.value} limit {self.limit} exceeded by {self.excess}"


class ChargeContext(BaseModel):
    """What is known when a charge to a customer's account is checked.

    Fields left `None` are limits that do not apply to this charge.
    """

    model_config = ConfigDict(frozen=True)

    amount: int
    """The charge, in minor units (> 0)."""
    customer_active: bool = True
    transaction_limit: int | None = None
    transaction_charged: int = 0
    """Already charged to the customer's accounts in this transaction."""
    credit_limit: int | None = None
    credit_owed: int = 0
    """Current house-account debt (positive)."""
    balance: int | None = None
    """Stored-value or points balance the charge draws on."""
    per_event_limit: int | None = None
    event_used: int = 0
    per_season_limit: int | None = None
    season_used: int = 0


def _over(kind: LimitKind, limit: int | None, projected: int) -> LimitBreach | None:
    if limit is None or projected <= limit:
        return None
    return LimitBreach(kind=kind, limit=limit, excess=projected - limit)


def check_limits(charge: ChargeContext) -> list[LimitBreach]:
    """Every limit `charge` breaks, most fundamental first; empty when it may go ahead."""
    if charge.amount <= 0:
        raise ValueError("a charge must be a positive amount")
    breaches: list[LimitBreach] = []
    if not charge.customer_active:
        breaches.append(LimitBreach(kind=LimitKind.INACTIVE, limit=0, excess=charge.amount))
    candidates = [
        _over(
            LimitKind.TRANSACTION,
            charge.transaction_limit,
            charge.transaction_charged + charge.amount,
        ),
        _over(LimitKind.CREDIT, charge.credit_limit, charge.credit_owed + charge.amount),
        _over(LimitKind.BALANCE, charge.balance, charge.amount),
        _over(LimitKind.PER_EVENT, charge.per_event_limit, charge.event_used + charge.amount),
        _over(LimitKind.PER_SEASON, charge.per_season_limit, charge.season_used + charge.amount),
    ]
    breaches.extend(b for b in candidates if b is not None)
    return breaches


def credit_limit_for(customer_limit: int, category: PromotionCategory | None) -> int:
    """A customer's own store-credit limit, else their promotion category's, else none (0)."""
    if customer_limit > 0 or category is None or category.credit_limit is None:
        return customer_limit
    return category.credit_limit


def points_earned(
    amount: int, currency: str, category: PromotionCategory | None, *, loyalty_enabled: bool
) -> int:
    """Points for a sale of `amount` minor units: whole currency units x the category's rate.

    Without a category a customer earns one point per unit; with loyalty disabled, none.
    Refunds (negative amounts) earn nothing here; they are reversed by their own op.
    """
    if not loyalty_enabled or amount <= 0:
        return 0
    rate = category.points_per_unit if category is not None else 1
    return (amount // minor_per_major(currency)) * rate
