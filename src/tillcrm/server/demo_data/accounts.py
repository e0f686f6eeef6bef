"""What a generated customer owns: points, a stored-value card, a house account with its
authorized users, suites, saved wallet cards and purchase history.

`_Accounts` holds the random stream and the ids of the customer being made, which both it and
`_Generator` (the customer's profile and cards) draw from; the draws happen in one fixed order,
so the rows depend on the seed alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tillcrm.domain import (
    AuthorizedUser,
    Brand,
    CustomerProfile,
    EventPeriod,
    Tender,
    TenderKind,
    TransactionLine,
    points_account_brand,
    points_earned,
)
from tillcrm.server.customer_view import POOL_ACCOUNT
from tillcrm.server.demo_data.catalog import (
    _CATEGORIES,
    DEMO_CUSTOMERS,
    DEMO_ORGS,
    DemoCustomer,
    DemoOrg,
    _calendar,
    _category_id,
    _history_till,
)
from tillcrm.server.demo_data.words import _FIRST, _MENU


def _uuid_source(seed: int) -> Callable[[int, int], UUID]:
    """Ids that depend only on the seed and grow with the row number (B-tree friendly).

    Layout: 48 bits from the seed, version 8 (RFC 9562 custom), 12 bits naming the kind of
    row, the RFC variant, and the row number in the low 62 bits.
    """
    prefix = random.Random(f"ids-{seed}").getrandbits(48)
    base = (prefix << 80) | (0x8 << 76) | (0b10 << 62)
    bases = {kind: base | (kind << 64) for kind in _ID_KINDS}

    def make(kind: int, number: int) -> UUID:
        return UUID(int=bases[kind] | number)

    return make


_ID_KINDS = _ID_CUSTOMER, _ID_OP, _ID_TRANSACTION, _ID_USER, _ID_SUITE, _ID_WALLET = range(1, 7)

_KNOWN_CARD_LIMITS: dict[int, tuple[int | None, int | None]] = {
    **{i: (10_000, 40_000) for i, known in enumerate(DEMO_CUSTOMERS) if known.showcase},
    1: (5_000, 25_000),
}
"""Stored-value cards of the well-known customers: per-event and per-season limits."""

_SHOWCASE_HISTORY_DAYS = (4, 19, 47, 83, 126, 171)
"""How long ago a showcase customer's past sales were: history over half a year."""

_SHOWCASE_WALLET = (("visa", "4242", 11, 2029, "Suites"), ("mastercard", "4444", 3, 2028, ""))
"""A showcase customer's saved cards: processor tokens and what may be shown, never a PAN."""


@dataclass
class _Chunk:
    """Rows of one chunk, per table."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    points: dict[tuple[UUID, str], int] = field(default_factory=dict)
    points_ledger: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    card_ledger: list[dict[str, Any]] = field(default_factory=list)
    credit_ledger: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    suites: list[dict[str, Any]] = field(default_factory=list)
    wallet: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)


_Shop = tuple[DemoOrg, Brand, str]
"""Where a customer buys: the organization, the brand, and the points account it earns into."""


def _shops(org: DemoOrg, brand: Brand | None, children: tuple[DemoOrg, ...]) -> tuple[_Shop, ...]:
    """The brand of a brand-owned customer; else every brand of the owner or, for a connected
    parent's customer, of the child organizations they registered with."""
    if brand is not None:
        places = [(org, brand)]
    else:
        places = [(place, b) for place in (children or (org,)) for b in place.brands]
    return tuple(
        (place, shop, points_account_brand(place.org, shop.id) or POOL_ACCOUNT)
        for place, shop in places
    )


class _Accounts:
    """Makes what customer after customer owns, from one random stream."""

    def __init__(
        self, seed: int, now: datetime, past_events: dict[str, tuple[EventPeriod, ...]]
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.uuid = _uuid_source(seed)
        self.index = 0
        self.now = now
        self.past_events = past_events
        self.tonight = {demo.org.id: _calendar(demo.org.id, now).running for demo in DEMO_ORGS}
        """The event running now at each organization."""
        self.serials: dict[int, int] = {}
        self.menu = [TransactionLine(description=d, unit_price=p).model_dump() for d, p in _MENU]

    def new_id(self, kind: int) -> UUID:
        """The next id of a kind of row of the current customer (at most 255 of each)."""
        self.serials[kind] = number = self.serials.get(kind, 0) + 1
        return self.uuid(kind, self.index << 8 | number)

    def op_id(self) -> UUID:
        """The next op id of a ledger row."""
        return self.new_id(_ID_OP)

    def _accounts(
        self,
        chunk: _Chunk,
        index: int,
        org: DemoOrg,
        brand: Brand | None,
        children: tuple[DemoOrg, ...],
        customer_id: UUID,
        profile: CustomerProfile,
        known: DemoCustomer | None,
    ) -> None:
        rng = self.rng
        at = self.now - timedelta(days=400)
        shops = _shops(org, brand, children)
        if profile.flags.loyalty_enabled and (known is not None or index % 2 == 0):
            for _, _, account in shops:
                if (customer_id, account) not in chunk.points:
                    self._points(
                        chunk, customer_id, account, rng.randrange(50, 5000), at, "opening"
                    )
        card = None
        if index in _KNOWN_CARD_LIMITS or (known is None and index % 10 == 3):
            per_event, per_season = _KNOWN_CARD_LIMITS.get(
                index, (rng.choice((None, 5_000, 10_000)), rng.choice((None, 50_000)))
            )
            card = {
                "customer_id": customer_id,
                "card_number": f"6039{index:012d}",
                "currency": org.org.currency,
                "balance": (
                    50_000
                    if known is not None and known.showcase
                    else rng.choice((5_000, 10_000, 25_000, 50_000))
                ),
                "per_event_limit": per_event,
                "reset_after_event": rng.random() < 0.8,
                "per_season_limit": per_season,
            }
            chunk.cards.append(card)
            chunk.card_ledger.append(
                {
                    "op_id": self.op_id(),
                    "customer_id": customer_id,
                    "delta": card["balance"],
                    "reason": "card load",
                    "event_id": None,
                    "season_id": None,
                    "till_id": None,
                    "at": at,
                }
            )
        if profile.store_credit_limit:
            self._house_account(chunk, customer_id, profile, at, owes=known is not None)
        if known is not None or index % 200 == 11:
            self._suites(chunk, customer_id)
        if known is not None and known.showcase:
            self._showcase(chunk, shops, customer_id, profile, card)
        elif known is not None or index % 20 == 0:
            for _ in range(1 if known is None and rng.random() < 0.4 else rng.randrange(2, 6)):
                days = rng.randrange(0, 3) if known is not None else rng.randrange(0, 365)
                self._sale(chunk, rng.choice(shops), customer_id, profile, card, days_ago=days)

    def _showcase(
        self,
        chunk: _Chunk,
        shops: tuple[_Shop, ...],
        customer_id: UUID,
        profile: CustomerProfile,
        card: dict[str, Any] | None,
    ) -> None:
        """A store's demo customer: saved wallet cards, sales over half a year, and one at
        tonight's event paid partly from the stored-value card, so its per-event and
        per-season limits show as partly used."""
        for brand, last4, month, year, label in _SHOWCASE_WALLET:
            chunk.wallet.append(
                {
                    "id": self.new_id(_ID_WALLET),
                    "customer_id": customer_id,
                    "brand": brand,
                    "last4": last4,
                    "exp_month": month,
                    "exp_year": year,
                    "token": f"tok_demo_{customer_id.hex[-8:]}_{last4}",
                    "label": label,
                    "created_at": self.now - timedelta(days=200),
                }
            )
        for n, days in enumerate(_SHOWCASE_HISTORY_DAYS):
            self._sale(chunk, shops[n % len(shops)], customer_id, profile, card, days_ago=days)
        self._sale(chunk, shops[0], customer_id, profile, card, days_ago=0, tonight=True)

    def _points(
        self,
        chunk: _Chunk,
        customer_id: UUID,
        account: str,
        delta: int,
        at: datetime,
        reason: str,
        op_id: UUID | None = None,
    ) -> None:
        key = (customer_id, account)
        chunk.points[key] = chunk.points.get(key, 0) + delta
        chunk.points_ledger.append(
            {
                "op_id": op_id or self.op_id(),
                "customer_id": customer_id,
                "account": account,
                "delta": delta,
                "reason": reason,
                "till_id": None,
                "at": at,
            }
        )

    def _house_account(
        self,
        chunk: _Chunk,
        customer_id: UUID,
        profile: CustomerProfile,
        at: datetime,
        *,
        owes: bool,
    ) -> None:
        rng = self.rng
        for n in range(rng.randrange(1, 3)):
            user = AuthorizedUser(
                id=self.new_id(_ID_USER),
                first_name=rng.choice(_FIRST),
                last_name=profile.last_name,
                phone=(
                    f"+1{profile.mobile[2:5]}556{rng.randrange(10_000):04d}"
                    if profile.mobile
                    else None
                ),
                allow_invoicing=n == 0,
                allow_preorders=rng.random() < 0.5,
            )
            chunk.users.append({"customer_id": customer_id, **user.model_dump()})
        if owes or rng.random() < 0.35:
            owed = rng.randrange(1_000, profile.store_credit_limit // 2)
            chunk.customers[-1]["store_credit_owed"] = owed
            chunk.credit_ledger.append(
                {
                    "op_id": self.op_id(),
                    "customer_id": customer_id,
                    "delta": owed,
                    "reason": "house account charge",
                    "authorized_user_id": None,
                    "till_id": None,
                    "at": at,
                }
            )

    def _suites(self, chunk: _Chunk, customer_id: UUID) -> None:
        rng = self.rng
        suite = f"Suite {rng.randrange(1, 40)}"
        for days, name in ((-30, "Season opener"), (0, "Tonight's game"), (14, "Derby day")):
            starts = self.now.replace(minute=0, second=0, microsecond=0) + timedelta(
                days=days, hours=-1 if days == 0 else 18
            )
            chunk.suites.append(
                {
                    "id": self.new_id(_ID_SUITE),
                    "customer_id": customer_id,
                    "name": suite,
                    "event_name": name,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=4),
                }
            )

    def _sale(
        self,
        chunk: _Chunk,
        shop: _Shop,
        customer_id: UUID,
        profile: CustomerProfile,
        card: dict[str, Any] | None,
        *,
        days_ago: int,
        tonight: bool = False,
    ) -> None:
        """A sale `days_ago` days ago, or (`tonight`) at the event running now, paid from the
        stored-value card up to half its per-event limit."""
        rng = self.rng
        org, brand, account = shop
        at = self.now - timedelta(days=days_ago, minutes=rng.randrange(1, 600))
        lines = [
            {**line, "quantity": rng.randrange(1, 4)}
            for line in rng.sample(self.menu, rng.randrange(1, 4))
        ]
        total = sum(line["quantity"] * line["unit_price"] for line in lines)
        tenders: list[Tender] = []
        op_id = self.op_id()
        event = rng.choice(self.past_events[org.org.id])
        if tonight:
            event = self.tonight[org.org.id]
            at = self.now - timedelta(minutes=rng.randrange(1, 50))
        if card is not None and card["balance"] > 0 and (rng.random() < 0.5 or tonight):
            paid = min(total, card["balance"])
            if tonight and card["per_event_limit"]:
                paid = min(paid, card["per_event_limit"] // 2)
            card["balance"] -= paid
            tenders.append(Tender(kind=TenderKind.STORED_VALUE, amount=paid))
            chunk.card_ledger.append(
                {
                    "op_id": op_id,
                    "customer_id": customer_id,
                    "delta": -paid,
                    "reason": "sale",
                    "event_id": event.id,
                    "season_id": event.season_id,
                    "till_id": _history_till(org, brand),
                    "at": at,
                }
            )
        rest = total - sum(t.amount for t in tenders)
        if rest:
            kind = TenderKind.CARD if rng.random() < 0.7 else TenderKind.CASH
            tenders.append(Tender(kind=kind, amount=rest))
        category = next(
            (c for c in _CATEGORIES if _category_id(org, c) == profile.promotion_category_id),
            None,
        )
        earned = points_earned(
            total, org.org.currency, category, loyalty_enabled=profile.flags.loyalty_enabled
        )
        if earned:
            self._points(chunk, customer_id, account, earned, at, "sale", op_id)
        chunk.sales.append(
            {
                "id": self.new_id(_ID_TRANSACTION),
                "customer_id": customer_id,
                "org_id": org.org.id,
                "brand_id": brand.id,
                "store_id": org.store_id(brand),
                "till_id": _history_till(org, brand),
                "operator_id": f"{org.org.parent_id or org.org.id}-cashier",
                "at": at,
                "currency": org.org.currency,
                "total": total,
                "lines": lines,
                "tenders": [tender.model_dump(mode="json") for tender in tenders],
                "points_earned": earned,
                "points_redeemed": 0,
                "op_id": op_id,
            }
        )
