"""Limit breaches as a cashier reads them aloud to a supervisor: the limit's name, its value
and how far over it the action goes, in the limit's own unit (money for the till's currency
formatted by the locale; points for a points redemption's balance and offline limits).
"""

from __future__ import annotations

from babel.numbers import format_decimal

from tillcrm.api import OpType
from tillcrm.domain import LimitBreach, LimitKind
from tillcrm.widgets.money import MoneyFormat

__all__ = ["describe_breach"]

_NAMES = {
    LimitKind.TRANSACTION: "Transaction limit",
    LimitKind.CREDIT: "Store credit limit",
    LimitKind.PER_EVENT: "Per-event stored value limit",
    LimitKind.PER_SEASON: "Per-season stored value limit",
    LimitKind.BALANCE: "Balance",
    LimitKind.OFFLINE: "Offline limit",
}
_POINTS_LIMITS = frozenset({LimitKind.BALANCE, LimitKind.OFFLINE, LimitKind.INACTIVE})
"""The limits a points redemption is checked against in points (the others are money)."""


def describe_breach(breach: LimitBreach, action_kind: str, money: MoneyFormat) -> str:
    """One sentence for `breach` of an action of op type `action_kind`."""
    in_points = action_kind == OpType.POINTS_REDEEM and breach.kind in _POINTS_LIMITS

    def amount(value: int) -> str:
        if in_points:
            return f"{format_decimal(value, locale=money.locale)} points"
        return money.format(value)

    what = "this redemption" if in_points else "this charge"
    if breach.kind is LimitKind.INACTIVE:
        return f"The customer is inactive: {what} of {amount(breach.excess)} needs approval"
    return f"{_NAMES[breach.kind]} {amount(breach.limit)}: {what} is {amount(breach.excess)} over"
