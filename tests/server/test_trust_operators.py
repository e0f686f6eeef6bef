"""Operators as an attacker with a till would meet them: a till receives only the PIN hashes
of active operators who may work at its store, and a PIN is long enough (6 digits unless the
organization says otherwise) that its hash is worth the search cost the README measures."""

from __future__ import annotations

import pytest

from tests.support.world import World
from tillcrm.domain import TEST_PIN_COST, Role
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.server.org_config import PIN_MIN_LENGTH, put_setting
from tillcrm.server.tables import operators


def _add(world: World, org_id: str, operator_id: str, *, pin: str = "123456", **kw: object) -> None:
    with writing(world.crm.engine) as conn:
        admin.add_operator(
            conn,
            org_id=org_id,
            operator_id=operator_id,
            code=operator_id,
            name=operator_id,
            pin=pin,
            pin_cost=TEST_PIN_COST,
            **kw,  # type: ignore[arg-type]
        )


def _ids(world: World, till: str) -> set[str]:
    with world.client(till) as http:
        response = http.get("/operators")
    response.raise_for_status()
    return {op["id"] for op in response.json()}


def test_a_till_gets_only_the_operators_of_its_store(world: World) -> None:
    _add(world, "org-brand", "brand-b-only", stores=["brand-b-store"])
    _add(world, "org-brand", "brand-both", stores=["brand-a-store", "brand-b-store"])
    assert _ids(world, "brand.a") == {"brand-cashier", "brand-super", "brand-both"}
    assert _ids(world, "brand.b") == {"brand-cashier", "brand-super", "brand-both", "brand-b-only"}


def test_a_child_till_gets_the_parent_operators_who_may_work_there(world: World) -> None:
    _add(world, "org-parent", "parent-c1-only", stores=["child1-a-store"], role=Role.SUPERVISOR)
    assert "parent-c1-only" in _ids(world, "child1.a")
    assert "parent-c1-only" not in _ids(world, "child2.a")
    assert "parent-c1-only" not in _ids(world, "parent.a")


def test_an_inactive_operator_hash_is_not_sent(world: World) -> None:
    _add(world, "org-pool", "pool-gone")
    assert "pool-gone" in _ids(world, "pool.a")
    with writing(world.crm.engine) as conn:
        conn.execute(operators.update().where(operators.c.id == "pool-gone").values(active=False))
    assert "pool-gone" not in _ids(world, "pool.a")


@pytest.mark.parametrize("pin", ["12345", "1234", "12345a", "١٢٣٤٥٦", "1234567890123"])
def test_a_short_or_non_digit_pin_is_refused(world: World, pin: str) -> None:
    with pytest.raises(admin.WeakPinError):
        _add(world, "org-wallets", f"weak-{len(pin)}-{pin.isascii()}", pin=pin)


def test_the_minimum_pin_length_is_set_per_organization_and_inherited(world: World) -> None:
    with writing(world.crm.engine) as conn:
        put_setting(conn, "org-units", PIN_MIN_LENGTH, "4")
        put_setting(conn, "org-parent", PIN_MIN_LENGTH, "8")
    _add(world, "org-units", "units-four", pin="4321")
    with pytest.raises(admin.WeakPinError):
        _add(world, "org-child2", "child2-seven", pin="7654321")  # the parent's 8 applies
    _add(world, "org-child2", "child2-eight", pin="87654321")
