"""What a sale or a redemption takes from a customer's accounts, and the limits it must pass.

The same `check_limits` the CRM runs is applied here before the sale completes; with the CRM
out of reach the offline policy (`tillcrm.domain.offline`) is applied on top, against the
cached balances and this till's queued offline debits. Every breach is returned, so the
override dialog can name each limit and its excess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tillcrm.api import CustomerOut, PointsBalance, SaleLineTender, SalePayload, StoredValueOut
from tillcrm.domain import (
    ChargeContext,
    LimitBreach,
    LimitKind,
    PromotionCategory,
    TenderKind,
    TransactionLine,
    check_limits,
    credit_limit_for,
)
from tillcrm.domain.offline import OfflineCaps, OfflineDebit, check_offline_debit
from tillcrm.local import OfflineDebits

__all__ = [
    "Debits",
    "debited",
    "limit_breaches",
    "offline_breaches",
    "points_balance",
    "tender_problem",
]


@dataclass(frozen=True)
class Debits:
    """What one action takes from the customer's accounts."""

    points: int = 0
    """Points spent (a points tender, or a redemption)."""
    stored_value: int = 0
    store_credit: int = 0
    charged: int = 0
    """Minor units a sale charges to the customer's accounts (`SalePayload.account_charge`):
    what the transaction limit caps and a supervisor's override of the sale is bound to."""

    @classmethod
    def of_sale(cls, sale: SalePayload) -> Debits:
        """The account tenders of a sale; cash and card take nothing from the customer."""

        def total(kind: TenderKind) -> int:
            return sum(t.amount for t in sale.tenders if t.kind is kind)

        return cls(
            points=sum(t.points or 0 for t in sale.tenders if t.kind is TenderKind.POINTS),
            stored_value=total(TenderKind.STORED_VALUE),
            store_credit=total(TenderKind.STORE_CREDIT),
            charged=sale.account_charge,
        )

    @property
    def offline(self) -> OfflineDebits:
        """What counts against the offline caps: stored value spent, and points redeemed."""
        return OfflineDebits(money=self.stored_value, points=self.points)


def tender_problem(
    lines: Sequence[TransactionLine], tenders: Sequence[SaleLineTender], point_value: int
) -> str | None:
    """Why the CRM would refuse these tenders outright, so the till says so before saving:
    they must add up to the lines, and a points tender must name the points that pay it."""
    total, paid = sum(line.total for line in lines), sum(t.amount for t in tenders)
    if paid != total:
        return f"the tenders add up to {paid}, the lines to {total}"
    for tender in tenders:
        if tender.kind is TenderKind.POINTS and (tender.points or 0) * point_value != tender.amount:
            return f"a points tender of {tender.amount} needs {tender.amount // point_value} points"
    return None


def points_balance(customer: CustomerOut, brand_id: str | None) -> PointsBalance | None:
    """The points account a till of `brand_id`'s sales use (`points_account_brand`)."""
    for account in customer.balances.points:
        if account.brand_id == brand_id:
            return account
    return customer.balances.points[0] if customer.balances.points else None


def limit_breaches(
    customer: CustomerOut,
    debits: Debits,
    *,
    points_brand: str | None,
    category: PromotionCategory | None = None,
    stored_value: StoredValueOut | None = None,
    check_balances: bool = True,
) -> list[LimitBreach]:
    """Every limit the action breaks, as the CRM will check it.

    `category` is the customer's promotion category, whose credit limit applies when the
    customer has none of their own; `stored_value` (the CRM's live answer) adds the per-event
    and per-season limits; `check_balances` is False offline, where the offline policy
    projects the balances instead.
    """
    profile = customer.profile
    active = profile.flags.active
    checks: list[ChargeContext] = []
    if debits.charged:
        checks.append(
            ChargeContext(
                amount=debits.charged,
                customer_active=active,
                transaction_limit=profile.transaction_limit,
            )
        )
    if debits.store_credit:
        checks.append(
            ChargeContext(
                amount=debits.store_credit,
                credit_limit=credit_limit_for(profile.store_credit_limit, category),
                credit_owed=customer.balances.store_credit_owed,
            )
        )
    if debits.stored_value:
        sv_balance = stored_value.balance if stored_value else customer.balances.stored_value
        checks.append(
            ChargeContext(
                amount=debits.stored_value,
                balance=(sv_balance or 0) if check_balances else None,
                per_event_limit=stored_value.per_event_limit if stored_value else None,
                event_used=stored_value.event_used if stored_value else 0,
                per_season_limit=stored_value.per_season_limit if stored_value else None,
                season_used=stored_value.season_used if stored_value else 0,
            )
        )
    if debits.points:
        account = points_balance(customer, points_brand)
        checks.append(
            ChargeContext(
                amount=debits.points,
                customer_active=active,
                balance=(account.balance if account else 0) if check_balances else None,
            )
        )
    found: dict[LimitKind, LimitBreach] = {}
    for charge in checks:
        for breach in check_limits(charge):
            found.setdefault(breach.kind, breach)
    return list(found.values())


def offline_breaches(
    customer: CustomerOut,
    debits: Debits,
    *,
    points_brand: str | None,
    pending: OfflineDebits,
    money_caps: OfflineCaps,
    points_caps: OfflineCaps,
    now: datetime,
) -> list[LimitBreach]:
    """The offline policy's breaches for the points and stored value the action spends, each
    against its own caps and this till's pending offline debits of its kind.

    The cached balances already carry this till's earlier offline debits (each write debits
    the cache with its op), so nothing is subtracted twice.
    """
    as_of = customer.balances.as_of
    breaches: list[LimitBreach] = []
    spends: list[tuple[int, int | None, int, OfflineCaps]] = []
    if debits.points:
        account = points_balance(customer, points_brand)
        balance = account.balance if account else None
        spends.append((debits.points, balance, pending.points, points_caps))
    if debits.stored_value:
        balance = customer.balances.stored_value
        spends.append((debits.stored_value, balance, pending.money, money_caps))
    for amount, balance, pending_of_kind, caps in spends:
        debit = OfflineDebit(
            amount=amount,
            cached_balance=balance,
            balance_read_at=as_of if balance is not None else None,
            pending_till_debits=pending_of_kind,
            now=now,
        )
        for breach in check_offline_debit(debit, caps):
            if all(b != breach for b in breaches):
                breaches.append(breach)
    return breaches


def debited(customer: CustomerOut, debits: Debits, *, points_brand: str | None) -> CustomerOut:
    """The cached record after the action: balances moved, the CRM's read time kept."""
    own = points_balance(customer, points_brand)
    points = [
        account.model_copy(update={"balance": account.balance - debits.points})
        if account is own
        else account
        for account in customer.balances.points
    ]
    stored_value = customer.balances.stored_value
    balances = customer.balances.model_copy(
        update={
            "points": points,
            "stored_value": stored_value - debits.stored_value
            if stored_value is not None
            else None,
            "store_credit_owed": customer.balances.store_credit_owed + debits.store_credit,
        }
    )
    return customer.model_copy(update={"balances": balances})
