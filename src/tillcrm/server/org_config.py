"""Per-organization configuration of the frameworks: field definitions and settings.

A till learns the fields it may show and the settings that apply to it with its context
(`/v1/tills/me`), which it keeps for when the CRM is out of reach, so the profile shows the
same fields offline as online.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tillcrm.api import TillContext
from tillcrm.domain.org_fields import (
    FieldDefinition,
    effective_settings,
    setting_owner_ids,
    visible_fields,
)
from tillcrm.server.context import Till
from tillcrm.server.customer_view import own_org_ids
from tillcrm.server.tables import field_definitions, org_settings, organizations

PIN_MIN_LENGTH = "pin_min_length"
"""The setting of how many digits an operator's PIN has at least (at most 12)."""
DEFAULT_PIN_MIN_LENGTH = 6

__all__ = [
    "DEFAULT_PIN_MIN_LENGTH",
    "PIN_MIN_LENGTH",
    "context_of",
    "define_field",
    "pin_min_length",
    "put_setting",
    "shared_field_names",
    "till_fields",
    "till_settings",
]


def define_field(conn: Connection, definition: FieldDefinition) -> FieldDefinition:
    """Define an extended or custom field for an organization (replacing its label)."""
    conn.execute(
        field_definitions.delete().where(
            field_definitions.c.org_id == definition.org_id,
            field_definitions.c.name == definition.name,
        )
    )
    conn.execute(field_definitions.insert().values(**definition.model_dump()))
    return definition


def put_setting(conn: Connection, owner_id: str, key: str, value: str) -> None:
    """Set one configuration value of an organization, brand or unit."""
    conn.execute(
        org_settings.delete().where(org_settings.c.owner_id == owner_id, org_settings.c.key == key)
    )
    conn.execute(org_settings.insert().values(owner_id=owner_id, key=key, value=value))


def till_fields(conn: Connection, till: Till) -> list[FieldDefinition]:
    """The extended and custom fields a till sees (`domain.org_fields.visible_fields`)."""
    rows = conn.execute(
        sa.select(field_definitions).where(field_definitions.c.org_id.in_(own_org_ids(till)))
    ).all()
    return visible_fields((FieldDefinition.model_validate(r._asdict()) for r in rows), till.org)


def shared_field_names(conn: Connection, parent_id: str) -> set[str]:
    """The parent-level field names of a connected group: those its parent defines."""
    return set(
        conn.execute(
            sa.select(field_definitions.c.name).where(field_definitions.c.org_id == parent_id)
        ).scalars()
    )


def pin_min_length(conn: Connection, org_id: str) -> int:
    """The fewest digits an operator PIN of `org_id` may have: its `pin_min_length` setting, a
    connected parent's winning (parent configuration is inherited), else 6. A till's disk holds
    the hashes, so the PIN space is what an offline search must cover."""
    parent_id = conn.execute(
        sa.select(organizations.c.parent_id).where(organizations.c.id == org_id)
    ).scalar_one_or_none()
    owners = [org_id] + ([parent_id] if parent_id else [])
    rows = conn.execute(
        sa.select(org_settings.c.owner_id, org_settings.c.value).where(
            org_settings.c.owner_id.in_(owners), org_settings.c.key == PIN_MIN_LENGTH
        )
    )
    merged = effective_settings(owners, {row.owner_id: {PIN_MIN_LENGTH: row.value} for row in rows})
    return int(merged.get(PIN_MIN_LENGTH, DEFAULT_PIN_MIN_LENGTH))


def till_settings(conn: Connection, till: Till) -> dict[str, str]:
    """The configuration in force at a till (`domain.org_fields.effective_settings`)."""
    owners = setting_owner_ids(till.org, till.brand.id)
    by_owner: dict[str, dict[str, str]] = defaultdict(dict)
    for row in conn.execute(sa.select(org_settings).where(org_settings.c.owner_id.in_(owners))):
        by_owner[row.owner_id][row.key] = row.value
    return effective_settings(owners, by_owner)


def context_of(conn: Connection, till: Till) -> TillContext:
    """The till's context with the fields it shows and the settings it runs under."""
    extra: dict[str, Any] = {
        "fields": till_fields(conn, till),
        "settings": till_settings(conn, till),
    }
    return till.context(conn).model_copy(update=extra)
