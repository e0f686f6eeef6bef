"""Connected organizations over HTTP: a parent with two child organizations and a till each.

Each rule of the seeds' connected-org framework, asserted as what each till can and cannot see
and change. The same rules against the till's cache are in tests/till/test_org_connected.py.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox
from tests.support.world import ORGS, World
from tillcrm.api import OpType
from tillcrm.domain.org_fields import FieldDefinition, FieldKind
from tillcrm.server.db import reading, writing
from tillcrm.server.org_config import define_field, put_setting
from tillcrm.server.tables import audit_log, customers, identifiers

PARENT, CHILD1, CHILD2 = ORGS["parent"].id, ORGS["child1"].id, ORGS["child2"].id


def acting(org: str) -> dict[str, str]:
    """Headers of a write by the cashier of world org `org`."""
    return {"X-Operator-Id": f"{org}-cashier"}


@pytest.fixture(scope="module", autouse=True)
def fields(world: World) -> None:
    """`tier` is the parent's (shared); `seat` is child one's and `locker` child two's
    (private); child one also defines a `tier` of its own, which the parent's overrides."""
    with writing(world.crm.engine) as conn:
        define_field(conn, FieldDefinition(org_id=PARENT, name="tier", label="Tier"))
        define_field(
            conn,
            FieldDefinition(org_id=PARENT, name="shirt_size", kind=FieldKind.EXTENDED),
        )
        define_field(conn, FieldDefinition(org_id=CHILD1, name="seat", label="Seat"))
        define_field(conn, FieldDefinition(org_id=CHILD1, name="tier", label="Child tier"))
        define_field(conn, FieldDefinition(org_id=CHILD2, name="locker", label="Locker"))


def register_at_child1(world: World, **fields: Any) -> dict[str, Any]:
    """A new customer registered at child one's till, with a barcode and a loyalty card."""
    tag = uuid4().hex[:8].upper()
    body = {
        "profile": {"first_name": "Conny", "last_name": f"Nected{tag}", **fields},
        "identifiers": [
            {"kind": "barcode", "value": f"BC{tag}"},
            {"kind": "magstripe", "value": f"MS{tag}"},
        ],
    }
    with world.client("child1.a") as http:
        response = http.post("/customers", json=body, headers=acting("child1"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def barcode_of(customer: dict[str, Any]) -> str:
    return next(i["value"] for i in customer["identifiers"] if i["kind"] == "barcode")


def register_at_child2(world: World, customer: dict[str, Any]) -> httpx.Response:
    with world.client("child2.a") as http:
        return http.post(
            "/customers/register",
            json={"kind": "barcode", "value": barcode_of(customer)},
            headers=acting("child2"),
        )


def patch(world: World, till: str, customer: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """Change profile fields at `till` against the current version."""
    with world.client(till) as http:
        version = http.get(f"/customers/{customer}").json()["version"]
        response = http.patch(
            f"/customers/{customer}",
            json={"base_version": version, "changes": changes},
            headers=acting(till.split(".")[0]),
        )
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


def seen(world: World, till: str, customer: str | UUID) -> httpx.Response:
    with world.client(till) as http:
        return http.get(f"/customers/{customer}")


def test_a_customer_registering_at_a_child_is_owned_by_the_parent(world: World) -> None:
    created = register_at_child1(world)
    with reading(world.crm.engine) as conn:
        owner = conn.execute(
            sa.select(customers.c.org_id).where(customers.c.id == UUID(created["id"]))
        ).scalar_one()
    assert owner == PARENT
    assert created["org_id"] == PARENT
    assert seen(world, "parent.a", created["id"]).status_code == 200
    assert seen(world, "child1.a", created["id"]).status_code == 200
    assert seen(world, "child2.a", created["id"]).status_code == 404


def test_registering_at_a_second_child_inherits_standard_and_parent_level_fields(
    world: World,
) -> None:
    created = register_at_child1(
        world,
        email="conny@example.com",
        external_id="APP-77",
        image_url="https://img.example/conny.jpg",
        custom_fields={"tier": "gold", "shirt_size": "M", "seat": "12A"},
    )
    with world.client("child2.a") as http:
        lookup = {"kind": "barcode", "value": barcode_of(created)}
        assert http.get("/identify", params=lookup).status_code == 404
        registered = register_at_child2(world, created)
        assert registered.status_code == 200, registered.text
        profile = registered.json()["profile"]
        assert (profile["first_name"], profile["email"]) == ("Conny", "conny@example.com")
        assert profile["custom_fields"] == {"tier": "gold", "shirt_size": "M"}
        assert (profile["external_id"], profile["image_url"]) == (
            "APP-77",
            "https://img.example/conny.jpg",
        )
        assert http.get("/identify", params=lookup).json()["customer"]["id"] == created["id"]
        again = register_at_child2(world, created)
        assert again.json()["version"] == registered.json()["version"]


def test_a_childs_loyalty_card_is_its_own_and_a_sibling_cannot_register_by_it(
    world: World,
) -> None:
    created = register_at_child1(world)
    card = next(i["value"] for i in created["identifiers"] if i["kind"] == "magstripe")
    with reading(world.crm.engine) as conn:
        kept = dict(
            conn.execute(
                sa.select(identifiers.c.kind, identifiers.c.org_id).where(
                    identifiers.c.customer_id == UUID(created["id"])
                )
            ).all()
        )
    assert kept == {"barcode": PARENT, "magstripe": CHILD1}
    with world.client("child2.a") as http:
        by_card = http.post(
            "/customers/register",
            json={"kind": "magstripe", "value": card},
            headers=acting("child2"),
        )
        assert by_card.status_code == 404
    registered = register_at_child2(world, created)
    assert [i["kind"] for i in registered.json()["identifiers"]] == ["barcode"]


def test_image_barcode_and_external_id_show_only_where_registered(world: World) -> None:
    created = register_at_child1(world, external_id="EXT-1", image_url="https://img/1.jpg")
    with world.client("child2.a") as http:
        assert (
            http.get("/customers", params={"q": created["profile"]["last_name"]}).json()["items"]
            == []
        )
        assert seen(world, "child2.a", created["id"]).status_code == 404
    assert seen(world, "child1.a", created["id"]).json()["profile"]["external_id"] == "EXT-1"
    assert seen(world, "parent.a", created["id"]).json()["profile"]["image_url"] == (
        "https://img/1.jpg"
    )


def test_standard_fields_changed_at_a_child_show_everywhere_private_fields_stay(
    world: World,
) -> None:
    created = register_at_child1(world, custom_fields={"tier": "gold", "seat": "12A"})
    customer = UUID(created["id"])
    register_at_child2(world, created)
    patch(
        world,
        "child2.a",
        customer,
        {"first_name": "Constance", "custom_fields": {"tier": "platinum", "locker": "7"}},
    )
    views = {till: seen(world, till, customer).json() for till in ("parent.a", "child1.a")}
    for view in views.values():
        assert view["profile"]["first_name"] == "Constance"
    assert views["parent.a"]["profile"]["custom_fields"] == {"tier": "platinum"}
    assert views["child1.a"]["profile"]["custom_fields"] == {"tier": "platinum", "seat": "12A"}
    child2 = seen(world, "child2.a", customer).json()["profile"]["custom_fields"]
    assert child2 == {"tier": "platinum", "locker": "7"}

    patch(world, "parent.a", customer, {"custom_fields": {"tier": "silver"}})
    assert seen(world, "child1.a", customer).json()["profile"]["custom_fields"] == {
        "tier": "silver",
        "seat": "12A",
    }
    assert seen(world, "child2.a", customer).json()["profile"]["custom_fields"] == {
        "tier": "silver",
        "locker": "7",
    }


def test_on_a_field_name_clash_the_parents_field_wins(world: World) -> None:
    with world.client("child1.a") as http:
        shown = {(f["org_id"], f["name"]) for f in http.get("/tills/me").json()["fields"]}
    assert shown == {(PARENT, "tier"), (PARENT, "shirt_size"), (CHILD1, "seat")}
    with world.client("child2.a") as http:
        shown = {(f["org_id"], f["name"]) for f in http.get("/tills/me").json()["fields"]}
    assert shown == {(PARENT, "tier"), (PARENT, "shirt_size"), (CHILD2, "locker")}
    created = register_at_child1(world, custom_fields={"tier": "gold"})
    patched = patch(world, "child1.a", UUID(created["id"]), {"custom_fields": {"tier": "bronze"}})
    assert seen(world, "parent.a", created["id"]).json()["profile"]["custom_fields"] == {
        "tier": "bronze"
    }
    assert patched["profile"]["custom_fields"] == {"tier": "bronze"}


def test_label_status_and_marketing_sms_are_per_organization(world: World) -> None:
    created = register_at_child1(world)
    register_at_child2(world, created)
    with world.client("child1.a") as http:
        changed = http.patch(
            f"/customers/{created['id']}/membership",
            json={"label": "Season holder", "status": "gold", "marketing_sms": True},
            headers=acting("child1"),
        )
        assert changed.status_code == 200, changed.text
    child1 = seen(world, "child1.a", created["id"]).json()
    assert (child1["label"], child1["status"]) == ("Season holder", "gold")
    assert child1["profile"]["flags"]["marketing_sms"] is True
    for till in ("child2.a", "parent.a"):
        other = seen(world, till, created["id"]).json()
        assert (other["label"], other["status"]) == ("", "")
        assert other["profile"]["flags"]["marketing_sms"] is False
    patch(world, "child2.a", UUID(created["id"]), {"flags": {"marketing_sms": True}})
    assert seen(world, "child2.a", created["id"]).json()["profile"]["flags"]["marketing_sms"]
    assert not seen(world, "parent.a", created["id"]).json()["profile"]["flags"]["marketing_sms"]


def test_a_childs_independent_profile_is_invisible_to_the_parent(world: World) -> None:
    body = {"profile": {"first_name": "Indy", "last_name": "Pendent"}, "independent": True}
    with world.client("child1.a") as http:
        created = http.post("/customers", json=body, headers=acting("child1")).json()
    assert created["org_id"] == CHILD1
    assert seen(world, "child1.a", created["id"]).status_code == 200
    assert seen(world, "parent.a", created["id"]).status_code == 404
    assert seen(world, "child2.a", created["id"]).status_code == 404
    with world.client("parent.a") as http:
        assert http.get("/customers", params={"q": "pendent"}).json()["items"] == []


def _audit(world: World, customer: UUID) -> list[Any]:
    with reading(world.crm.engine) as conn:
        return list(
            conn.execute(
                sa.select(audit_log).where(audit_log.c.customer_id == customer).order_by("id")
            ).all()
        )


def test_shared_field_changes_are_logged_at_the_parent_with_origin_child_only_ones_are_not(
    world: World,
) -> None:
    created = register_at_child1(world, custom_fields={"tier": "gold"})
    customer = UUID(created["id"])
    register_at_child2(world, created)
    with world.client("child2.a") as http:
        child2_till = http.get("/tills/me").json()["till_id"]
    before = len(_audit(world, customer))
    patch(world, "child2.a", customer, {"custom_fields": {"tier": "gold", "locker": "9"}})
    private_only = _audit(world, customer)[before:]
    assert [(r.org_id, r.detail) for r in private_only] == [(CHILD2, "changed private fields")]

    patch(world, "child2.a", customer, {"last_name": "Traced"})
    [shared] = _audit(world, customer)[before + 1 :]
    assert (shared.org_id, shared.origin_org_id, shared.till_id) == (PARENT, CHILD2, child2_till)
    assert shared.change_request_id == str(shared.op_id)
    assert "last_name" in shared.detail
    subscribed_from = len(_audit(world, customer))
    patch(world, "child2.a", customer, {"flags": {"marketing_sms": True}})
    subscribed = _audit(world, customer)[subscribed_from:]
    assert [(r.org_id, r.detail) for r in subscribed] == [(CHILD2, "marketing SMS choice")]
    at_parent = [r for r in _audit(world, customer) if r.org_id == PARENT]
    assert all("private" not in r.detail and "SMS" not in r.detail for r in at_parent)


def test_parent_configuration_is_inherited_and_overrides_the_childs(world: World) -> None:
    with writing(world.crm.engine) as conn:
        put_setting(conn, PARENT, "receipt_footer", "Thanks from the group")
        put_setting(conn, CHILD1, "receipt_footer", "Thanks from child one")
        put_setting(conn, CHILD1, "locker_rental", "on")
    with world.client("child1.a") as http:
        settings = http.get("/tills/me").json()["settings"]
    assert settings == {"receipt_footer": "Thanks from the group", "locker_rental": "on"}
    with world.client("child2.a") as http:
        assert http.get("/tills/me").json()["settings"] == {
            "receipt_footer": "Thanks from the group"
        }


def test_only_a_child_registers_a_parents_customer(world: World) -> None:
    created = register_at_child1(world)
    with world.client("pool.a") as http:
        refused = http.post(
            "/customers/register",
            json={"kind": "barcode", "value": barcode_of(created)},
            headers=acting("pool"),
        )
    assert refused.status_code == 422
    with world.client("child2.a") as http:
        unknown = http.post(
            "/customers/register",
            json={"kind": "phone", "value": "+14155550999"},
            headers=acting("child2"),
        )
    assert unknown.status_code == 404


def fields_at(world: World, customer: UUID) -> dict[str, dict[str, str]]:
    """The custom fields each connected organization's till shows for `customer`."""
    return {
        till: seen(world, till, customer).json()["profile"]["custom_fields"]
        for till in ("parent.a", "child1.a", "child2.a")
    }


def test_a_field_edit_changes_only_the_fields_it_names_wherever_it_is_made(
    world: World,
) -> None:
    created = register_at_child1(
        world, custom_fields={"tier": "gold", "shirt_size": "M", "seat": "12A"}
    )
    customer = UUID(created["id"])
    register_at_child2(world, created)
    patch(world, "child2.a", customer, {"custom_fields": {"locker": "7"}})
    shared = {"tier": "gold", "shirt_size": "M"}
    assert fields_at(world, customer) == {
        "parent.a": shared,
        "child1.a": {**shared, "seat": "12A"},
        "child2.a": {**shared, "locker": "7"},
    }

    patch(world, "child1.a", customer, {"custom_fields": {"seat": "14B"}})
    assert fields_at(world, customer) == {
        "parent.a": shared,
        "child1.a": {**shared, "seat": "14B"},
        "child2.a": {**shared, "locker": "7"},
    }

    patch(world, "child1.a", customer, {"custom_fields": {"seat": None, "tier": "silver"}})
    patch(world, "parent.a", customer, {"custom_fields": {"shirt_size": None}})
    assert fields_at(world, customer) == {
        "parent.a": {"tier": "silver"},
        "child1.a": {"tier": "silver"},
        "child2.a": {"tier": "silver", "locker": "7"},
    }


def test_a_field_no_field_definition_here_names_is_refused_with_the_defined_ones(
    world: World,
) -> None:
    created = register_at_child1(world, custom_fields={"tier": "gold"})
    customer = UUID(created["id"])
    expected = "unknown field: locker; defined fields: seat, shirt_size, tier"
    with world.client("child1.a") as http:
        version = http.get(f"/customers/{customer}").json()["version"]
        refused = http.patch(
            f"/customers/{customer}",
            json={"base_version": version, "changes": {"custom_fields": {"locker": "3"}}},
            headers=acting("child1"),
        )
        assert refused.status_code == 422
        assert refused.json()["detail"] == expected
        not_text = http.patch(
            f"/customers/{customer}",
            json={"base_version": version, "changes": {"custom_fields": {"seat": 5}}},
            headers=acting("child1"),
        )
        assert not_text.status_code == 422
        at_create = http.post(
            "/customers",
            json={"profile": {"custom_fields": {"locker": "3"}}},
            headers=acting("child1"),
        )
        assert (at_create.status_code, at_create.json()["detail"]) == (422, expected)
    with Outbox(world, "child1.a") as till:
        (pushed,) = till.apply(
            till.op(
                OpType.CUSTOMER_UPDATE,
                customer,
                {"changes": {"custom_fields": {"locker": "3"}}},
                base_version=version,
            )
        )
    assert (pushed["status"], pushed["reason"]) == ("rejected", expected)
    assert seen(world, "child1.a", customer).json()["profile"]["custom_fields"] == {"tier": "gold"}
    other = put_customer(world, "brand", "b", first_name="Nofields")
    with Outbox(world, "brand.b") as till:
        (none_defined,) = till.apply(
            till.op(
                OpType.CUSTOMER_UPDATE,
                other,
                {"changes": {"custom_fields": {"color": "red"}}},
                base_version=1,
            )
        )
    assert none_defined["reason"] == "unknown field: color; defined fields: none"
