"""Customers made and edited on the till, offline too: the record the cache holds until the
CRM's own comes back with the next pull.

A new customer gets a client-made id (UUIDv7, time-ordered like the ops) so the till can
identify, sell to and edit them at once; the CRM keeps that id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tillcrm.api import AccountBalances, CustomerOut
from tillcrm.domain import AuthorizedUser, CustomerProfile, Identifier, IdentifierKind
from tillcrm.domain.ids import new_id
from tillcrm.domain.org_fields import field_patch, patched_field_values

__all__ = [
    "edited",
    "moved_phone",
    "new_customer",
    "unknown_fields",
    "with_authorized_users",
]


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

    `custom_fields` changes by name, as the CRM applies it (`FieldPatch`): the record shows
    what the CRM will show, fields the change does not name kept.
    Raises `pydantic.ValidationError` when a changed field is invalid.
    """
    changed = dict(changes)
    if "custom_fields" in changed:
        patch = field_patch(changed["custom_fields"])
        changed["custom_fields"] = patched_field_values(customer.profile.custom_fields, patch)
    profile = CustomerProfile.model_validate({**customer.profile.model_dump(), **changed})
    return customer.model_copy(
        update={
            "profile": profile,
            "identifiers": moved_phone(
                customer.identifiers, customer.profile.mobile, profile.mobile
            ),
            "version": customer.version + 1,
            "updated_at": now,
        }
    )


def moved_phone(cards: Sequence[Identifier], old: str | None, new: str | None) -> list[Identifier]:
    """The identifiers after the mobile number changed from `old` to `new`: the phone
    identifier of the old number becomes the new number's (or goes, when the mobile is
    cleared), so the old number stops finding the customer and the new one finds them."""
    if old == new or old is None:
        return list(cards)
    moved = []
    for card in cards:
        if card.kind is IdentifierKind.PHONE and card.value == old:
            if new is None:
                continue
            card = card.model_copy(update={"value": new})
        moved.append(card)
    return moved


def with_authorized_users(customer: CustomerOut, users: Sequence[AuthorizedUser]) -> CustomerOut:
    """The record with its authorized users replaced."""
    return customer.model_copy(update={"authorized_users": list(users)})
