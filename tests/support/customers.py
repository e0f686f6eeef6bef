"""Customers put straight into a test CRM's database, for tests of the paths that read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from tests.support.world import ORGS, World
from tillcrm.domain import CustomerProfile, Identifier, IdentifierKind, family_id
from tillcrm.server.customer_rows import add_customer
from tillcrm.server.db import writing


def put_customer(
    world: World,
    org: str,
    brand: str | None = "a",
    *,
    cards: dict[IdentifierKind, str] | None = None,
    **fields: Any,
) -> UUID:
    """Store a customer of `ORGS[org]` (owned by brand `{org}-{brand}`) and return its id.

    `fields` are `CustomerProfile` fields; `cards` maps identifier kinds to values.
    """
    customer_id = uuid4()
    with writing(world.crm.engine) as conn:
        add_customer(
            conn,
            customer_id=customer_id,
            org_id=ORGS[org].id,
            family_id=family_id(ORGS[org]),
            brand_id=f"{org}-{brand}" if brand else None,
            profile=CustomerProfile.model_validate(fields),
            cards=[Identifier(kind=kind, value=value) for kind, value in (cards or {}).items()],
            at=datetime.now(UTC),
        )
    return customer_id
