"""How a customer profile is stored: the JSON profile plus the columns searched beside it.

The customer-create and customer-update appliers and the bulk demo loader all store customers,
so the columns derived from a profile are computed in one place: a search that finds a customer
made at a till finds one loaded by `tillcrm crm demo-data` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Connection

from tillcrm.domain import (
    Address,
    CustomerFlags,
    CustomerProfile,
    Identifier,
    IdentifierKind,
    IdentifierStatus,
    reversed_digits,
)
from tillcrm.server.db import UNSTAMPED, change_seq, next_counter
from tillcrm.server.tables import customer_registrations, customers, identifiers

__all__ = [
    "add_customer",
    "identifier_row",
    "identifier_rows",
    "profile_columns",
    "search_text",
    "stored_profile",
]


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


def stored_profile(stored: dict[str, Any]) -> CustomerProfile:
    """The `CustomerProfile` of a `customers.profile` value, built without validating it again.

    Every stored profile was validated when it was written (`profile_columns` takes a model), and
    validating it again on each read, most of all the e-mail check, took seconds of a till's
    first pull (docs/performance.md). So the models are constructed from the stored JSON, whose
    only non-JSON type is the date of birth.
    """
    fields = dict(stored)
    fields["address"] = Address.model_construct(**fields.get("address", {}))
    fields["flags"] = CustomerFlags.model_construct(**fields.get("flags", {}))
    born = fields.get("date_of_birth")
    fields["date_of_birth"] = date.fromisoformat(born) if born else None
    return CustomerProfile.model_construct(**fields)


def identifier_row(
    kind: IdentifierKind,
    value: str,
    status: IdentifierStatus,
    *,
    customer_id: UUID,
    org_id: str,
    family_id: str,
) -> dict[str, Any]:
    """An `identifiers` row: a card kept under `org_id`, in the organization family
    `family_id` (`domain.family_id`), whose unique index refuses a second holder of a card."""
    return {
        "org_id": org_id,
        "family_id": family_id,
        "kind": kind.value,
        "value": value,
        "customer_id": customer_id,
        "status": status.value,
    }


def identifier_rows(
    cards: Sequence[Identifier], *, customer_id: UUID, org_id: str, family_id: str
) -> list[dict[str, Any]]:
    """`identifier_row` of each of a customer's cards kept under `org_id`."""
    return [
        identifier_row(
            card.kind,
            card.value,
            card.status,
            customer_id=customer_id,
            org_id=org_id,
            family_id=family_id,
        )
        for card in cards
    ]


def add_customer(
    conn: Connection,
    *,
    customer_id: UUID,
    org_id: str,
    family_id: str,
    brand_id: str | None,
    profile: CustomerProfile,
    cards: list[Identifier],
    at: datetime,
) -> CustomerProfile:
    """Store a new customer with the owner's registration and its identifiers (kept under
    the owner, in its organization family `family_id`).

    A missing customer number is generated from the CRM's counter. Returns the profile as
    stored. The caller checks scope and duplicates; this only writes.
    """
    if profile.customer_number is None:
        number = next_counter(conn, "customer_number")
        profile = profile.model_copy(update={"customer_number": f"C{number:08d}"})
    seq = change_seq(conn, customer_id)
    conn.execute(
        customers.insert().values(
            id=customer_id,
            org_id=org_id,
            brand_id=brand_id,
            version=1,
            change_seq=UNSTAMPED if seq is None else seq,
            created_at=at,
            updated_at=at,
            **profile_columns(profile),
        )
    )
    conn.execute(
        customer_registrations.insert().values(
            customer_id=customer_id,
            org_id=org_id,
            custom_fields={},
            registered_at=at,
        )
    )
    if cards:
        conn.execute(
            identifiers.insert(),
            identifier_rows(cards, customer_id=customer_id, org_id=org_id, family_id=family_id),
        )
    return profile
