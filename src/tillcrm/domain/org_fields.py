"""What each organization of a framework sees and keeps of a shared customer.

The seeds' connected organizations keep one customer identity at the parent while each child
keeps some things of its own; organization units share customers but keep subscriptions and
billing per unit. These pure rules decide, for the CRM and the till's cache alike:

- which extended and custom fields an organization sees (the parent's are shared, a child's are
  private to it, and on a name clash the parent's field wins), and which names an edit may use;
- how an edit changes field values: by name, never touching a field it does not name (one the
  editing organization may not even see);
- where a changed field value is kept (at the parent, shared and audited there, or with the
  child, private and not logged at the parent);
- which organization a card belongs to (a loyalty card is each organization's own; a barcode
  and a phone live with the identity at the parent);
- where a marketing subscription is kept (per child organization, per unit);
- which configuration applies (the parent's settings override a child's; a unit's own settings
  override its organization's defaults).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tillcrm.domain.customer import FieldName, FieldValue, IdentifierKind
from tillcrm.domain.org import Organization, OrgKind

__all__ = [
    "FieldDefinition",
    "FieldKind",
    "card_org_id",
    "effective_settings",
    "field_patch",
    "merged_field_values",
    "patched_field_values",
    "refused_field_names",
    "setting_owner_ids",
    "split_field_values",
    "subscription_scope_id",
    "visible_fields",
]

ORG_CARD_KINDS = frozenset({IdentifierKind.MAGSTRIPE, IdentifierKind.RFID})
"""The customer card of the seeds: each connected organization issues and keeps its own."""


class FieldKind(StrEnum):
    """Extended fields are the CRM's predefined extras; custom fields are the org's own."""

    EXTENDED = "extended"
    CUSTOM = "custom"


class FieldDefinition(BaseModel):
    """An extended or custom customer field, defined by one organization."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    name: Annotated[str, Field(min_length=1, max_length=64)]
    kind: FieldKind = FieldKind.CUSTOM
    label: Annotated[str, Field(max_length=120)] = ""

    @property
    def title(self) -> str:
        """What the profile shows beside the value."""
        return self.label or self.name.replace("_", " ").capitalize()


def visible_fields(
    definitions: Iterable[FieldDefinition], org: Organization
) -> list[FieldDefinition]:
    """The fields a till of `org` sees: its parent's (shared) then its own (private).

    A child's field named like one of the parent's is hidden: the parent's field wins. A
    sibling child's fields are never seen. Each group is in name order.
    """
    chosen = [d for d in definitions if d.org_id in (org.id, org.parent_id)]
    inherited = sorted((d for d in chosen if d.org_id == org.parent_id), key=lambda d: d.name)
    taken = {d.name for d in inherited}
    own = sorted(
        (d for d in chosen if d.org_id == org.id and d.name not in taken), key=lambda d: d.name
    )
    return inherited + own


def refused_field_names(names: Iterable[str], visible: Iterable[FieldDefinition]) -> str | None:
    """Why an edit naming these fields is refused (names no field `visible` defines, listing
    those it does), or None when every name is defined: the CRM and the till give one answer."""
    defined = sorted({d.name for d in visible})
    unknown = sorted(set(names) - set(defined))
    if not unknown:
        return None
    return f"unknown field: {', '.join(unknown)}; defined fields: {', '.join(defined) or 'none'}"


FieldPatch = dict[FieldName, FieldValue | None]
"""An edit of field values by name: a value sets one field, None removes it."""

_FIELD_PATCH: TypeAdapter[FieldPatch] = TypeAdapter(
    FieldPatch, config=ConfigDict(str_strip_whitespace=True)
)
"""Trims values as `CustomerProfile` does, so a value reads the same set either way."""


def field_patch(value: object) -> FieldPatch:
    """The `custom_fields` of a profile edit as a `FieldPatch`; `pydantic.ValidationError`
    when it is not one (not an object, a name too long, a value not text)."""
    return _FIELD_PATCH.validate_python(value)


def patched_field_values(
    values: Mapping[str, str], patch: Mapping[str, str | None]
) -> dict[str, str]:
    """`values` after an edit: each field `patch` names is set (or removed, for None), and
    every other field is kept, so an edit never drops a field its editor could not see."""
    merged = {**values, **patch}
    return {name: value for name, value in merged.items() if value is not None}


_Value = TypeVar("_Value")


def split_field_values(
    values: Mapping[str, _Value], shared_names: Collection[str]
) -> tuple[dict[str, _Value], dict[str, _Value]]:
    """Split field values (or a `FieldPatch`) edited at a connected child into (shared,
    private).

    Shared are the parent-level fields (`shared_names`: those the parent defines or already
    holds a value for); they are stored at the parent, where every child sees them. Anything
    else is the child's private field and stays with the child.
    """
    shared = {name: value for name, value in values.items() if name in shared_names}
    private = {name: value for name, value in values.items() if name not in shared_names}
    return shared, private


def merged_field_values(shared: Mapping[str, str], private: Mapping[str, str]) -> dict[str, str]:
    """The field values an organization sees: its private ones under the shared ones (on a
    name clash the parent-level value wins)."""
    return {**private, **shared}


def card_org_id(kind: IdentifierKind, org: Organization, owner_org_id: str) -> str:
    """The organization an identifier added at a till of `org` is kept under.

    At a connected child a loyalty card (magstripe, RFID) is the child's own, so a sibling
    child never identifies the customer by it; a barcode or phone belongs to the identity and
    is stored at the owner (the parent), shown only where the customer is registered. Every
    other identifier belongs to the customer's owner.
    """
    if org.parent_id is not None and kind in ORG_CARD_KINDS:
        return org.id
    return owner_org_id


def subscription_scope_id(org: Organization, brand_id: str) -> str | None:
    """Where a marketing-SMS subscription is kept for a till of `org` and `brand_id`.

    Per organization in a connected group, per unit (the till's brand) in organization units;
    None for a standard organization, which keeps it in the customer's profile flags.
    """
    if org.kind is OrgKind.CONNECTED:
        return org.id
    if org.kind is OrgKind.ORG_UNITS:
        return brand_id
    return None


def setting_owner_ids(org: Organization, brand_id: str) -> list[str]:
    """Whose settings apply at a till, weakest first (later ones override earlier ones).

    A connected child: its brand, itself, then its parent (parent-level configuration is
    inherited and overrides the child's). Anything else: the organization, then the brand or
    unit (a unit's own billing settings override its organization's defaults).
    """
    if org.parent_id is not None:
        return [brand_id, org.id, org.parent_id]
    return [org.id, brand_id]


def effective_settings(
    owner_ids: Sequence[str], settings: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """Merge each owner's `{key: value}` settings in `owner_ids` order, later ones winning."""
    merged: dict[str, str] = {}
    for owner in owner_ids:
        merged.update(settings.get(owner, {}))
    return merged
