"""The pure rules of what each organization of a framework sees and keeps of a customer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tillcrm.domain import IdentifierKind, Organization, OrgKind, family_id
from tillcrm.domain.org_fields import (
    FieldDefinition,
    FieldKind,
    card_org_id,
    effective_settings,
    field_patch,
    merged_field_values,
    patched_field_values,
    refused_field_names,
    setting_owner_ids,
    split_field_values,
    subscription_scope_id,
    visible_fields,
)

PARENT = Organization(id="parent", name="Parent", kind=OrgKind.CONNECTED)
CHILD_A = Organization(id="child-a", name="A", kind=OrgKind.CONNECTED, parent_id="parent")
CHILD_B = Organization(id="child-b", name="B", kind=OrgKind.CONNECTED, parent_id="parent")
UNITS = Organization(id="units", name="Units", kind=OrgKind.ORG_UNITS)
STANDARD = Organization(id="std", name="Standard")

DEFINITIONS = [
    FieldDefinition(org_id="parent", name="tier"),
    FieldDefinition(org_id="parent", name="shirt_size", kind=FieldKind.EXTENDED),
    FieldDefinition(org_id="child-a", name="tier", label="Child tier"),
    FieldDefinition(org_id="child-a", name="seat"),
    FieldDefinition(org_id="child-b", name="locker"),
]


def _names(fields: list[FieldDefinition]) -> list[tuple[str, str]]:
    return [(f.org_id, f.name) for f in fields]


def test_a_child_sees_the_parents_fields_then_its_own_and_the_parent_wins_a_clash() -> None:
    assert _names(visible_fields(DEFINITIONS, CHILD_A)) == [
        ("parent", "shirt_size"),
        ("parent", "tier"),
        ("child-a", "seat"),
    ]


def test_a_child_never_sees_a_siblings_fields_and_the_parent_sees_only_its_own() -> None:
    assert ("child-a", "seat") not in _names(visible_fields(DEFINITIONS, CHILD_B))
    assert _names(visible_fields(DEFINITIONS, PARENT)) == [
        ("parent", "shirt_size"),
        ("parent", "tier"),
    ]


def test_a_field_without_a_label_is_titled_from_its_name() -> None:
    assert FieldDefinition(org_id="o", name="shirt_size").title == "Shirt size"
    assert FieldDefinition(org_id="o", name="x", label="Locker no.").title == "Locker no."


def test_values_edited_at_a_child_split_into_shared_and_private() -> None:
    shared, private = split_field_values({"tier": "gold", "seat": "12A"}, {"tier"})
    assert (shared, private) == ({"tier": "gold"}, {"seat": "12A"})


def test_merged_values_let_the_shared_value_win_a_name_clash() -> None:
    assert merged_field_values({"tier": "gold"}, {"tier": "mine", "seat": "1"}) == {
        "tier": "gold",
        "seat": "1",
    }


def test_a_loyalty_card_belongs_to_the_child_a_barcode_to_the_identity() -> None:
    assert card_org_id(IdentifierKind.MAGSTRIPE, CHILD_A, "parent") == "child-a"
    assert card_org_id(IdentifierKind.RFID, CHILD_A, "parent") == "child-a"
    assert card_org_id(IdentifierKind.BARCODE, CHILD_A, "parent") == "parent"
    assert card_org_id(IdentifierKind.MAGSTRIPE, STANDARD, "std") == "std"


def test_subscriptions_are_kept_per_connected_org_per_unit_or_in_the_profile() -> None:
    assert subscription_scope_id(CHILD_A, "a-brand") == "child-a"
    assert subscription_scope_id(PARENT, "p-brand") == "parent"
    assert subscription_scope_id(UNITS, "north") == "north"
    assert subscription_scope_id(STANDARD, "brand") is None


def test_parent_settings_override_a_childs_and_a_units_override_its_orgs() -> None:
    settings = {
        "parent": {"footer": "group"},
        "child-a": {"footer": "child", "lockers": "on"},
        "units": {"billing_day": "1", "footer": "units"},
        "north": {"billing_day": "15"},
    }
    assert effective_settings(setting_owner_ids(CHILD_A, "a-brand"), settings) == {
        "footer": "group",
        "lockers": "on",
    }
    assert effective_settings(setting_owner_ids(UNITS, "north"), settings) == {
        "billing_day": "15",
        "footer": "units",
    }
    assert effective_settings(setting_owner_ids(UNITS, "south"), settings) == {
        "billing_day": "1",
        "footer": "units",
    }


def test_a_field_patch_sets_and_removes_by_name_and_keeps_the_rest() -> None:
    held = {"tier": "gold", "seat": "12A", "hidden": "kept"}
    patch = field_patch({"tier": " silver ", "seat": None, "new": "x"})
    assert patched_field_values(held, patch) == {"tier": "silver", "hidden": "kept", "new": "x"}
    with pytest.raises(ValidationError):
        field_patch({"seat": 5})
    with pytest.raises(ValidationError):
        field_patch(["seat"])


def test_only_names_a_visible_field_defines_may_be_edited() -> None:
    at_child_a = visible_fields(DEFINITIONS, CHILD_A)
    assert refused_field_names({"tier": "x", "seat": "y"}, at_child_a) is None
    assert refused_field_names(["locker", "zz"], at_child_a) == (
        "unknown field: locker, zz; defined fields: seat, shirt_size, tier"
    )
    assert refused_field_names(["x"], []) == "unknown field: x; defined fields: none"


def test_a_family_is_rooted_at_the_connected_parent() -> None:
    assert {family_id(org) for org in (PARENT, CHILD_A, CHILD_B)} == {"parent"}
    assert (family_id(UNITS), family_id(STANDARD)) == ("units", "std")
