"""Customers made and edited on the till, offline too: the record the cache holds until the
CRM's own comes back with the next pull.

A new customer gets a client-made id (UUIDv7, time-ordered like the ops) so the till can
identify, sell to and edit them at once; the CRM keeps that id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import uuid6

from tillcrm.api import AccountBalances, CustomerOut
from tillcrm.domain import AuthorizedUser, CustomerProfile, Identifier

__all__ = ["edited", "new_customer", "new_id", "unknown_fields", "with_authorized_users"]


def new_id() -> UUID:
    """A client-made id for a customer, transaction or request key (UUIDv7)."""
    return UUID(str(uuid6.uuid7()))


def new_customer(
    profile: CustomerProfile,
    identifiers: Sequence[Identifier],
    authorized_users: Sequence[AuthorizedUser],
    *,
    org_id: str,
    brand_id: str | None,
    now: datetime,
) -> CustomerOut:
    """The cached record of a customer created here, before the CRM has seen them."""
    return CustomerOut(
        id=new_id(),
        version=1,
        org_id=org_id,
        brand_id=brand_id,
        profile=profile,
        identifiers=list(identifiers),
        authorized_users=list(authorized_users),
        balances=AccountBalances(as_of=now),
        created_at=now,
        updated_at=now,
    )


def unknown_fields(changes: Mapping[str, Any]) -> list[str]:
    """Keys of `changes` that are not customer profile fields."""
    return sorted(set(changes) - set(CustomerProfile.model_fields))


def edited(customer: CustomerOut, changes: Mapping[str, Any], now: datetime) -> CustomerOut:
    """The record with `changes` applied (validated as a whole profile) and the next version.

    Raises `pydantic.ValidationError` when a changed field is invalid.
    """
    profile = CustomerProfile.model_validate({**customer.profile.model_dump(), **changes})
    return customer.model_copy(
        update={"profile": profile, "version": customer.version + 1, "updated_at": now}
    )


def with_authorized_users(customer: CustomerOut, users: Sequence[AuthorizedUser]) -> CustomerOut:
    """The record with its authorized users replaced."""
    return customer.model_copy(update={"authorized_users": list(users)})
