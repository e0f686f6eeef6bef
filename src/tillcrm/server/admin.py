"""Setting up a CRM: organizations, brands, stores, operators, events, enrollment codes.

Used by `tillcrm crm ...` commands, the demo data and the tests, so all three build an
organization the same way.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tillcrm.api import OverrideToReview
from tillcrm.domain import (
    PIN_COST,
    Brand,
    EventPeriod,
    Organization,
    PinCost,
    PromotionCategory,
    Role,
    Season,
    Store,
    hash_pin,
)
from tillcrm.server.context import hash_token
from tillcrm.server.customer_view import as_utc
from tillcrm.server.org_config import pin_min_length
from tillcrm.server.tables import (
    brands,
    enrollment_codes,
    events,
    operator_stores,
    operators,
    organizations,
    override_approvals,
    promotion_categories,
    seasons,
    stores,
    tills,
)

__all__ = [
    "WeakPinError",
    "add_brand",
    "add_event",
    "add_operator",
    "add_organization",
    "add_promotion_category",
    "add_season",
    "add_store",
    "issue_enrollment_code",
    "overrides_to_review",
    "revoke_till",
]

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
ENROLLMENT_CODE_TTL = timedelta(hours=24)
_PIN = re.compile(r"[0-9]+")
_PIN_MAX_LENGTH = 12


def add_organization(conn: Connection, org: Organization) -> Organization:
    """Create an organization; its kind, scope and points policy are fixed from here on."""
    conn.execute(organizations.insert().values(**org.model_dump(mode="json")))
    return org


def add_brand(conn: Connection, brand: Brand) -> Brand:
    """Create a brand (or organization unit) of an organization."""
    conn.execute(brands.insert().values(**brand.model_dump()))
    return brand


def add_store(conn: Connection, store: Store) -> Store:
    """Create a store of a brand."""
    conn.execute(stores.insert().values(**store.model_dump()))
    return store


class WeakPinError(ValueError):
    """The PIN is not all digits, too short for the organization, or longer than 12 digits."""


def add_operator(
    conn: Connection,
    *,
    org_id: str,
    operator_id: str,
    code: str,
    name: str,
    pin: str,
    role: Role = Role.CASHIER,
    badge: str | None = None,
    stores: Sequence[str] = (),
    pin_cost: PinCost = PIN_COST,
) -> None:
    """Create an operator; PIN and badge are stored only as scrypt hashes.

    The PIN has at least the organization's `pin_min_length` digits (`WeakPinError`). With
    `stores` the operator works only there, else at every store the organization reaches.
    `pin_cost` is for the test suite's own operators only (`domain.TEST_PIN_COST`).
    """
    shortest = pin_min_length(conn, org_id)
    if not (_PIN.fullmatch(pin) and shortest <= len(pin) <= _PIN_MAX_LENGTH):
        raise WeakPinError(f"a PIN is {shortest} to {_PIN_MAX_LENGTH} digits")
    conn.execute(
        operators.insert().values(
            id=operator_id,
            org_id=org_id,
            code=code,
            name=name,
            role=role.value,
            pin_hash=hash_pin(pin, cost=pin_cost),
            badge_hash=hash_pin(badge, cost=pin_cost) if badge else None,
            active=True,
        )
    )
    if stores:
        conn.execute(
            operator_stores.insert(), [{"operator_id": operator_id, "store_id": s} for s in stores]
        )


def add_promotion_category(conn: Connection, org_id: str, category: PromotionCategory) -> None:
    """Create a promotion category of an organization."""
    conn.execute(promotion_categories.insert().values(org_id=org_id, **category.model_dump()))


def add_season(conn: Connection, org_id: str, season: Season) -> None:
    """Create a season of an organization."""
    conn.execute(seasons.insert().values(org_id=org_id, **season.model_dump()))


def add_event(conn: Connection, org_id: str, event: EventPeriod) -> None:
    """Create an event of an organization."""
    conn.execute(events.insert().values(org_id=org_id, **event.model_dump()))


def issue_enrollment_code(conn: Connection, store_id: str, *, now: datetime | None = None) -> str:
    """A one-time code that enrolls one till at `store_id` within 24 hours."""
    now = now or datetime.now(UTC)
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    conn.execute(
        enrollment_codes.insert().values(
            code_hash=hash_token(code),
            store_id=store_id,
            created_at=now,
            expires_at=now + ENROLLMENT_CODE_TTL,
        )
    )
    return code


def revoke_till(conn: Connection, till_id: str, *, now: datetime | None = None) -> datetime | None:
    """Revoke the till's token: its next request is refused (401). Returns when it was
    revoked (the first time, for a till revoked before), None when there is no such till.

    The till's row, its ops and their answers stay: they are history, attributed to it.
    """
    conn.execute(
        tills.update()
        .where(tills.c.id == till_id, tills.c.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
    revoked = conn.execute(
        sa.select(tills.c.revoked_at).where(tills.c.id == till_id)
    ).scalar_one_or_none()
    return as_utc(revoked) if revoked is not None else None


def overrides_to_review(conn: Connection, *, limit: int = 100) -> list[OverrideToReview]:
    """The newest `limit` overrides accepted on a till's word alone (checked offline against
    its cached hashes, `needs_review`): for `tillcrm crm overrides` and the admin API."""
    rows = conn.execute(
        sa.select(override_approvals)
        .where(override_approvals.c.needs_review.is_(True))
        .order_by(override_approvals.c.used_at.desc(), override_approvals.c.approval_id)
        .limit(limit)
    )
    return [
        OverrideToReview.model_validate({**row._asdict(), "used_at": as_utc(row.used_at)})
        for row in rows
    ]
