"""The offline money policy: when a till may debit an account it cannot check with the CRM.

Earning points is always allowed. Redeeming points or debiting stored value with the CRM out
of reach is allowed only when the cached balance is fresh (read under 24 h ago by default), the
amount is within the per-transaction cap, this till's unsynced offline debits stay within the
per-till cap, and the balance projected from the cache and the queued debits covers it. Each
rule broken is a breach a supervisor may override, like any other limit; the CRM applies an
overdraft that still happens and flags it for review.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tillcrm.domain.limits import LimitBreach, LimitKind

__all__ = ["OfflineBreach", "OfflineCaps", "OfflineDebit", "OfflineRule", "check_offline_debit"]


class OfflineRule(StrEnum):
    """Which rule of the offline money policy a debit breaks."""

    STALE_BALANCE = "stale_balance"
    TRANSACTION_CAP = "transaction_cap"
    TILL_CAP = "till_cap"
    PROJECTED_BALANCE = "projected_balance"


class OfflineCaps(BaseModel):
    """The policy's numbers for one kind of balance (money, or points), from the `[offline]`
    section of the config: points and money are capped apart, never added together."""

    model_config = ConfigDict(frozen=True)

    max_balance_age: timedelta
    per_transaction_cap: int
    """Minor units of money, or points."""
    per_till_cap: int
    """The most of this kind this till may have debited offline and not yet synced."""


class OfflineDebit(BaseModel):
    """A debit the till wants to take while offline, and what it knows to judge it."""

    model_config = ConfigDict(frozen=True)

    amount: int
    """Minor units or points (> 0)."""
    cached_balance: int | None
    """The balance the till holds: the CRM's last reading less the till's own debits queued
    since (each one debits the cache with its op); None when the till has never read it."""
    balance_read_at: datetime | None
    pending_till_debits: int = 0
    """This till's offline debits of the same kind not yet acknowledged by the CRM."""
    now: datetime


class OfflineBreach(LimitBreach):
    """A rule of the offline policy a debit breaks; `kind` is `offline` or `balance`.

    For a stale balance `limit` and `excess` are seconds (the age allowed, and how much older
    the balance is); otherwise they are minor units or points.
    """

    rule: OfflineRule

    def describe(self) -> str:
        """One line a cashier can read aloud to a supervisor."""
        if self.rule is OfflineRule.STALE_BALANCE:
            hours = self.limit / 3600
            return f"offline: the cached balance is older than {hours:g} h"
        return f"offline {self.rule.value.replace('_', ' ')} {self.limit} exceeded by {self.excess}"


def _breach(rule: OfflineRule, limit: int, used: int) -> OfflineBreach | None:
    if used <= limit:
        return None
    kind = LimitKind.BALANCE if rule is OfflineRule.PROJECTED_BALANCE else LimitKind.OFFLINE
    return OfflineBreach(kind=kind, rule=rule, limit=limit, excess=used - limit)


def check_offline_debit(debit: OfflineDebit, caps: OfflineCaps) -> list[OfflineBreach]:
    """Every offline rule `debit` breaks; empty when the till may take it offline.

    The balance must be strictly younger than the allowed age; one never read counts as stale
    and as zero for the projection.
    """
    if debit.amount <= 0:
        raise ValueError("a debit must be a positive amount")
    allowed = caps.max_balance_age
    age = allowed if debit.balance_read_at is None else debit.now - debit.balance_read_at
    stale = None
    if age >= allowed:
        over = math.ceil((age - allowed).total_seconds())
        stale = OfflineBreach(
            kind=LimitKind.OFFLINE,
            rule=OfflineRule.STALE_BALANCE,
            limit=int(allowed.total_seconds()),
            excess=max(over, 1),
        )
    projected = debit.cached_balance or 0
    candidates = [
        stale,
        _breach(OfflineRule.TRANSACTION_CAP, caps.per_transaction_cap, debit.amount),
        _breach(OfflineRule.TILL_CAP, caps.per_till_cap, debit.pending_till_debits + debit.amount),
        _breach(OfflineRule.PROJECTED_BALANCE, max(projected, 0), debit.amount),
    ]
    return [breach for breach in candidates if breach is not None]
