"""How a customer profile is stored: the JSON profile plus the columns searched beside it.

The customer-create and customer-update appliers and the bulk demo loader all store customers,
so the columns derived from a profile are computed in one place: a search that finds a customer
made at a till finds one loaded by `tillcrm crm demo-data` the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Connection

from tillcrm.domain import CustomerProfile, Identifier, reversed_digits
from tillcrm.server.db import next_counter
from tillcrm.server.tables import customer_registrations, customers, identifiers

__all__ = ["add_customer", "profile_columns", "search_text"]


def search_text(profile: CustomerProfile) -> str:
    """Lower-cased names, company, email and customer number, for substring search."""
    parts = (
        profile.first_name,
        profile.last_name,
        profile.company,
        profile.email or "",
        profile.customer_number or "",
    )
    return " ".join(part.lower() for part in parts if part)


def profile_columns(profile: CustomerProfile) -> dict[str, Any]:
    """The `customers` columns that follow from a profile (everything but ids and counters).

    The profile must already carry its customer number: the CRM assigns one before storing.
    """
    if profile.customer_number is None:
        raise ValueError("a stored customer needs a customer number")
    return {
        "customer_number": profile.customer_number,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "company": profile.company,
        "mobile": profile.mobile,
        "mobile_rev": reversed_digits(profile.mobile) if profile.mobile else None,
        "phone": profile.phone,
        "email": profile.email,
        "search_text": search_text(profile),
        "profile": profile.model_dump(mode="json"),
        "active": profile.flags.active,
    }


def add_customer(
    conn: Connection,
    *,
    customer_id: UUID,
    org_id: str,
    brand_id: str | None,
    profile: CustomerProfile,
    cards: list[Identifier],
    at: datetime,
) -> CustomerProfile:
    """Store a new customer with the owner's registration and its identifiers.

    A missing customer number is generated from the CRM's counter. Returns the profile as
    stored. The caller checks scope and duplicates; this only writes.
    """
    if profile.customer_number is None:
        number = next_counter(conn, "customer_number")
        profile = profile.model_copy(update={"customer_number": f"C{number:08d}"})
    conn.execute(
        customers.insert().values(
            id=customer_id,
            org_id=org_id,
            brand_id=brand_id,
            version=1,
            change_seq=next_counter(conn, "changes"),
            created_at=at,
            updated_at=at,
            **profile_columns(profile),
        )
    )
    conn.execute(
        customer_registrations.insert().values(
            customer_id=customer_id,
            org_id=org_id,
            marketing_sms=profile.flags.marketing_sms,
            custom_fields={},
            registered_at=at,
        )
    )
    if cards:
        conn.execute(
            identifiers.insert(),
            [
                {
                    "org_id": org_id,
                    "kind": card.kind.value,
                    "value": card.value,
                    "customer_id": customer_id,
                    "status": card.status.value,
                }
                for card in cards
            ],
        )
    return profile
