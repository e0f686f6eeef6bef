"""The row generator: customer after customer, with everything they own, from a seed.

The first customers are always the well-known ones of `DEMO_CUSTOMERS`; the rest are drawn
from the word lists and placed in the organizations by their index. The random stream restarts
every `_BLOCK` customers and ids are numbered per customer, so the rows depend on the seed and
`now` alone, never on how the loader cuts the load into chunks or workers.
"""

from __future__ import annotations

import functools
import random
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from tillcrm.domain import (
    Address,
    CustomerFlags,
    CustomerProfile,
    EventPeriod,
    IdentifierKind,
    IdentifierStatus,
    family_id,
)
from tillcrm.server.customer_rows import identifier_row, profile_columns
from tillcrm.server.demo_data.accounts import _ID_CUSTOMER, _Accounts, _Chunk
from tillcrm.server.demo_data.catalog import (
    _CATEGORIES,
    _DINING,
    _EAST,
    _HOME_CLUBS,
    _LAKESIDE,
    _METRO,
    _RESORTS,
    _VENUES,
    _WEST,
    DEMO_CUSTOMERS,
    DEMO_ORGS,
    DemoCustomer,
    DemoOrg,
    _category_id,
    _ean13,
)
from tillcrm.server.demo_data.words import (
    _AREA_CODES,
    _CITIES,
    _COMMENTS,
    _COMPANIES,
    _FIRST,
    _LAST,
    _STREETS,
    _TAGS,
)

MAX_DEMO_CUSTOMERS = 10_000_000
"""Generated phone numbers stay unique (and clear of the well-known ones) up to here."""

_BLOCK = 1_000
"""Customers per random stream: chunks are multiples of it, so chunking never changes data."""


@functools.cache
def _email_name(first: str, last: str) -> str:
    """`first.last` in plain ASCII letters, for an email address."""
    name = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
    return "".join(ch for ch in name if ch.isalnum() or ch == ".")


_Placement = tuple[DemoOrg, int | None, tuple[DemoOrg, ...]]
"""The owner, the owning brand's index (None: owned by the organization), the connected child
organizations the customer registered with."""
_PLACEMENT: tuple[_Placement, ...] = (
    (_VENUES, 0, ()),
    (_VENUES, 1, ()),
    (_VENUES, 0, ()),
    (_VENUES, 1, ()),
    (_DINING, None, ()),
    (_DINING, None, ()),
    (_RESORTS, None, ()),
    (_METRO, None, ()),
    (_LAKESIDE, None, (_EAST,)),
    (_LAKESIDE, None, (_EAST, _WEST)),
)
"""Where generated customers live: customer i is placed by `_PLACEMENT[i % 10]`."""
_CATEGORY_ODDS = (_CATEGORIES[0],) * 6 + (_CATEGORIES[1],) * 2 + _CATEGORIES[2:]
"""Most customers are standard, some silver, few gold or staff."""
_ORG_BY_ID = {demo.org.id: demo for demo in DEMO_ORGS}


@functools.cache
def _shared_field_values(org: DemoOrg, index: int) -> dict[str, str]:
    """A Lakeside customer's parent-level field values (`DEMO_FIELDS`), from their index alone
    (no random draw, so every other customer's data stays as it was)."""
    if org is not _LAKESIDE:
        return {}
    return {
        "home_club": _HOME_CLUBS[index % len(_HOME_CLUBS)],
        "member_since": str(2010 + index % 16),
    }


def _private_field_values(place: DemoOrg, index: int) -> dict[str, str]:
    """What a Lakeside club keeps privately about a customer registered with it."""
    if place is _EAST:
        return {"locker": f"E-{index % 400 + 1:03d}"}
    if place is _WEST:
        return {"mooring": f"W{index % 60 + 1}"}
    return {}


class _Generator(_Accounts):
    """Makes the rows of customer after customer from one random stream."""

    def __init__(
        self, seed: int, now: datetime, past_events: dict[str, tuple[EventPeriod, ...]]
    ) -> None:
        super().__init__(seed, now, past_events)
        self.template = CustomerProfile()
        self.addresses = [
            Address(
                line1=f"{n} {street}", city=city, region=region, postal_code=postal, country="US"
            )
            for n in (12, 140, 77, 905, 3)
            for street in _STREETS
            for city, region, postal in _CITIES
        ]
        self.flags = {
            (active, vip, green, loyal, sms): CustomerFlags(
                active=active, vip=vip, go_green=green, loyalty_enabled=loyal, marketing_sms=sms
            )
            for active in (True, False)
            for vip in (True, False)
            for green in (True, False)
            for loyal in (True, False)
            for sms in (True, False)
        }

    def customer(self, chunk: _Chunk, index: int, number: int, change_seq: int) -> None:
        """Add customer `index` (0-based over the whole load) and everything they own.

        The random stream restarts every `_BLOCK` customers, and ids are numbered per
        customer, so a customer's rows do not depend on how the load is cut into chunks.
        """
        if index % _BLOCK == 0:
            self.rng = random.Random(f"{self.seed}:{index // _BLOCK}")
        self.index = index
        self.serials = {}
        rng = self.rng
        known = DEMO_CUSTOMERS[index] if index < len(DEMO_CUSTOMERS) else None
        if known is not None:
            org = _ORG_BY_ID[known.org_id]
            brand_index = next(
                (i for i, b in enumerate(org.brands) if b.id == known.brand_id), None
            )
            children = tuple(_ORG_BY_ID[org_id] for org_id in known.registered_at)
        else:
            org, brand_index, children = _PLACEMENT[index % len(_PLACEMENT)]
        brand = org.brands[brand_index] if brand_index is not None else None
        customer_id = known.id if known else self.uuid(_ID_CUSTOMER, index)
        profile = self._profile(index, number, org, known)
        at = self.now - timedelta(days=rng.randrange(30, 1500), seconds=rng.randrange(86400))
        chunk.customers.append(
            {
                "id": customer_id,
                "org_id": org.org.id,
                "brand_id": brand.id if brand else None,
                "version": 1,
                "change_seq": change_seq,
                "created_at": at,
                "updated_at": at,
                "store_credit_owed": 0,
                **profile_columns(profile),
            }
        )
        for place in (org, *children):
            chunk.registrations.append(
                {
                    "customer_id": customer_id,
                    "org_id": place.org.id,
                    "label": "Member" if place is not org else "",
                    "status": rng.choice(("", "Silver", "Gold")) if place is not org else "",
                    "custom_fields": _private_field_values(place, index),
                    "registered_at": at,
                }
            )
        self._identifiers(chunk, index, org, customer_id, profile, known)
        self._accounts(chunk, index, org, brand, children, customer_id, profile, known)

    def _profile(
        self, index: int, number: int, org: DemoOrg, known: DemoCustomer | None
    ) -> CustomerProfile:
        rng = self.rng
        if known is not None:
            first, last, mobile = known.first_name, known.last_name, known.mobile
        else:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            area = _AREA_CODES[index % len(_AREA_CODES)]
            line = index // len(_AREA_CODES)
            mobile = f"+1{area}{200 + line // 10_000}{line % 10_000:04d}"
        active = rng.random() >= 0.03 if known is None else known.active
        vip = (known is not None and known.role.startswith("VIP")) or rng.random() < 0.05
        tags = ["VIP", *rng.choice(_TAGS)] if vip else list(rng.choice(_TAGS))
        house = (known is not None and known.house_account) or rng.random() < 0.05
        category = _CATEGORIES[2] if vip else rng.choice(_CATEGORY_ODDS)
        email_user = _email_name(first, last)
        update: dict[str, Any] = {
            "customer_number": f"C{number:08d}",
            "first_name": first,
            "last_name": last,
            "company": rng.choice(_COMPANIES) if rng.random() < 0.12 else "",
            "mobile": mobile if known or rng.random() < 0.92 else None,
            "phone": (
                f"+1{mobile[2:5]}{600 + index // 80_000}{index // 8 % 10_000:04d}"
                if rng.random() < 0.15
                else None
            ),
            "email": (
                f"{email_user}@example.com"
                if known
                else f"{email_user}{index}@example.com"
                if rng.random() < 0.8
                else None
            ),
            "address": rng.choice(self.addresses),
            "drivers_license": f"D{rng.randrange(10**7):07d}" if rng.random() < 0.1 else "",
            "date_of_birth": (
                date(1940, 1, 1) + timedelta(days=rng.randrange(23_000))
                if rng.random() < 0.7
                else None
            ),
            "comments": rng.choice(_COMMENTS) if rng.random() < 0.05 else "",
            "store_credit_limit": rng.choice((20_000, 50_000, 100_000)) if house else 0,
            "transaction_limit": (
                rng.choice((10_000, 25_000, 50_000)) if vip or rng.random() < 0.04 else None
            ),
            "tags": tags,
            "flags": self.flags[
                (
                    active,
                    vip,
                    known.go_green if known is not None else rng.random() < 0.3,
                    rng.random() < 0.95 or vip or (known is not None and known.showcase),
                    rng.random() < 0.4,
                )
            ],
            "promotion_category_id": _category_id(org, category),
            "custom_fields": _shared_field_values(org, index),
        }
        return self.template.model_copy(update=update)

    def _identifiers(
        self,
        chunk: _Chunk,
        index: int,
        org: DemoOrg,
        customer_id: UUID,
        profile: CustomerProfile,
        known: DemoCustomer | None,
    ) -> None:
        if known is not None:
            cards = [
                (IdentifierKind.BARCODE, known.barcode),
                (IdentifierKind.MAGSTRIPE, known.magstripe),
                (IdentifierKind.RFID, known.rfid),
                (IdentifierKind.PHONE, known.mobile),
            ]
        else:
            cards = [(IdentifierKind.BARCODE, _ean13(f"29{index:010d}"))]
            if index % 3 == 0:
                cards.append((IdentifierKind.MAGSTRIPE, f"7001{index:012d}"))
            if index % 4 == 1:
                cards.append((IdentifierKind.RFID, f"3C{index:08X}"))
            if index % 10 == 5 and profile.mobile:
                cards.append((IdentifierKind.PHONE, profile.mobile))
        for kind, value in cards:
            chunk.identifiers.append(self._card(org, kind, value, customer_id, active=True))
        if known is not None and known.blocked_barcode is not None:
            blocked = known.blocked_barcode
        elif known is None and index % 50 == 7:
            blocked = _ean13(f"28{index:010d}")
        else:
            return
        chunk.identifiers.append(
            self._card(org, IdentifierKind.BARCODE, blocked, customer_id, active=False)
        )

    @staticmethod
    def _card(
        org: DemoOrg, kind: IdentifierKind, value: str, customer_id: UUID, *, active: bool
    ) -> dict[str, Any]:
        status = IdentifierStatus.ACTIVE if active else IdentifierStatus.BLOCKED
        return identifier_row(
            kind,
            value,
            status,
            customer_id=customer_id,
            org_id=org.org.id,
            family_id=family_id(org.org),
        )
