"""Operators as an attacker with a till would meet them: a till receives only the PIN hashes
of active operators who may work at its store, and a PIN is long enough (6 digits unless the
organization says otherwise) that its hash is worth the search cost the README measures. Ops
and REST writes are accepted only from such operators, approvals only from such supervisors."""

from __future__ import annotations

import pytest

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, override, sale
from tests.support.world import World, add_operator
from tillcrm.api import OpType
from tillcrm.domain import Role
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.org_config import PIN_MIN_LENGTH, put_setting
from tillcrm.server.tables import operators


def _ids(world: World, till: str) -> set[str]:
    with world.client(till) as http:
        response = http.get("/operators")
    response.raise_for_status()
    return {op["id"] for op in response.json()}


def test_a_till_gets_only_the_operators_of_its_store(world: World) -> None:
    add_operator(world, "org-brand", "brand-b-only", stores=["brand-b-store"])
    add_operator(world, "org-brand", "brand-both", stores=["brand-a-store", "brand-b-store"])
    assert _ids(world, "brand.a") == {"brand-cashier", "brand-super", "brand-both"}
    assert _ids(world, "brand.b") == {"brand-cashier", "brand-super", "brand-both", "brand-b-only"}


def test_a_child_till_gets_the_parent_operators_who_may_work_there(world: World) -> None:
    add_operator(
        world, "org-parent", "parent-c1-only", stores=["child1-a-store"], role=Role.SUPERVISOR
    )
    assert "parent-c1-only" in _ids(world, "child1.a")
    assert "parent-c1-only" not in _ids(world, "child2.a")
    assert "parent-c1-only" not in _ids(world, "parent.a")


def test_an_inactive_operator_hash_is_not_sent(world: World) -> None:
    add_operator(world, "org-pool", "pool-gone")
    assert "pool-gone" in _ids(world, "pool.a")
    with writing(world.crm.engine) as conn:
        conn.execute(operators.update().where(operators.c.id == "pool-gone").values(active=False))
    assert "pool-gone" not in _ids(world, "pool.a")


@pytest.mark.parametrize("pin", ["12345", "1234", "12345a", "١٢٣٤٥٦", "1234567890123"])
def test_a_short_or_non_digit_pin_is_refused(world: World, pin: str) -> None:
    with pytest.raises(admin.WeakPinError):
        add_operator(world, "org-wallets", f"weak-{len(pin)}-{pin.isascii()}", pin=pin)


def test_the_minimum_pin_length_is_set_per_organization_and_inherited(world: World) -> None:
    with writing(world.crm.engine) as conn:
        put_setting(conn, "org-units", PIN_MIN_LENGTH, "4")
        put_setting(conn, "org-parent", PIN_MIN_LENGTH, "8")
    add_operator(world, "org-units", "units-four", pin="4321")
    with pytest.raises(admin.WeakPinError):
        add_operator(world, "org-child2", "child2-seven", pin="7654321")  # the parent's 8 applies
    add_operator(world, "org-child2", "child2-eight", pin="87654321")


NOT_HERE = "the acting operator is not an active operator at this store"


def test_ops_are_accepted_only_from_active_operators_of_the_tills_store(world: World) -> None:
    add_operator(world, "org-brand", "brand-b-cash", stores=["brand-b-store"])
    add_operator(world, "org-brand", "brand-left")
    with writing(world.crm.engine) as conn:
        conn.execute(operators.update().where(operators.c.id == "brand-left").values(active=False))
    customer = put_customer(world, "brand", "a")
    with Outbox(world, "brand.a") as till:
        ops = [
            till.op(OpType.SALE, customer, sale(("cash", 500)), operator_id=operator)
            for operator in ("pool-cashier", "nobody", "brand-b-cash", "brand-left")
        ]
        results = till.apply(*ops, till.op(OpType.SALE, customer, sale(("cash", 500))))
    assert [(r["status"], r["reason"]) for r in results[:-1]] == [("rejected", NOT_HERE)] * 4
    assert results[-1]["status"] == "applied"


def test_a_rest_write_by_an_operator_not_of_the_store_is_422(world: World) -> None:
    add_operator(world, "org-brand", "brand-b-rest", stores=["brand-b-store"])
    body = {"profile": {"first_name": "Op", "last_name": "Erator"}}
    with world.client("brand.a") as http:
        refused = [
            http.post("/customers", json=body, headers={"X-Operator-Id": operator})
            for operator in ("pool-cashier", "nobody", "brand-b-rest")
        ]
        created = http.post("/customers", json=body, headers={"X-Operator-Id": "brand-cashier"})
    for response in refused:
        assert response.status_code == 422
        assert response.json()["code"] == "invalid"
        assert response.json()["detail"] == NOT_HERE
        assert response.json()["problems"][0]["field"] == "X-Operator-Id"
    assert created.status_code == 201, created.text


def test_an_override_by_a_supervisor_of_another_store_is_refused(world: World) -> None:
    add_operator(
        world, "org-brand", "brand-b-super", stores=["brand-b-store"], role=Role.SUPERVISOR
    )
    customer = put_customer(world, "brand", "a", store_credit_limit=100)
    approval = override("brand", customer, 500, ["credit"], supervisor="b-super")
    with Outbox(world, "brand.a") as till:
        [refused] = till.apply(
            till.op(OpType.SALE, customer, sale(("store_credit", 500)), override=approval)
        )
    assert refused["status"] == "rejected"
    assert refused["reason"] == "override refused: unknown operator brand-b-super"
