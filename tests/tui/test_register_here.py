"""Registering a connected parent's customer at a child's till, under Pilot, on the CRM over
loopback: child two's cashier scans the card of a customer who registered at child one, is
asked "registered at Parent - register here?", and on yes the customer is registered at child
two (with the parent's shared field) and their profile opens; on cancel nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from random import randrange
from typing import Any
from uuid import UUID, uuid4

import pytest
from tests.support.tui import SIZE, TuiTill, until
from tests.support.world import CASHIER_PIN, ORGS, World
from tests.tui.cashier import enrolled_till, logged_in
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Label

from tillcrm.config import DeviceKind
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain.org_fields import FieldDefinition
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile import ProfileScreen
from tillcrm.screens.register_here import RegisterHereScreen
from tillcrm.server.db import writing
from tillcrm.server.org_config import define_field

ACTING = {"X-Operator-Id": "child1-cashier"}


@pytest.fixture
async def child2_till(
    tmp_path: Path, loopback_world: World, readers: dict[DeviceKind, SimulatedReader]
) -> AsyncIterator[tuple[TuiTill, UUID, str, str]]:
    """Child two's till, synced, and a customer of the parent registered at child one only
    (with their barcode and mobile)."""
    with writing(loopback_world.crm.engine) as conn:
        define_field(conn, FieldDefinition(org_id=ORGS["parent"].id, name="tier", label="Tier"))
    barcode = f"REG{uuid4().hex[:9].upper()}"
    mobile = f"+1212{randrange(10**7):07d}"
    profile = {"first_name": "Regina", "last_name": "Here", "mobile": mobile}
    body = {
        "profile": {**profile, "custom_fields": {"tier": "gold"}},
        "identifiers": [{"kind": "barcode", "value": barcode}],
    }
    with loopback_world.client("child1.a") as http:
        created = http.post("/customers", json=body, headers=ACTING)
        created.raise_for_status()
    async with enrolled_till(tmp_path, loopback_world.crm, readers, store="child2-a-store") as till:
        yield till, UUID(created.json()["id"]), barcode, mobile


def identify_at_child2(world: World, barcode: str) -> dict[str, Any]:
    with world.client("child2.a") as http:
        answer = http.get("/identify", params={"kind": "barcode", "value": barcode})
        return {"status": answer.status_code, **answer.json()}


async def scan_to_question(pilot: Pilot[Any], till: TuiTill, barcode: str) -> RegisterHereScreen:
    app = pilot.app
    await logged_in(pilot, code="child2-100", pin=CASHIER_PIN)
    await until(pilot, lambda: len(app.device_states) == len(till.readers), "readers connected")
    till.readers[DeviceKind.BARCODE].scan(barcode)
    await until(pilot, lambda: isinstance(app.screen, RegisterHereScreen), "the question")
    screen = app.screen
    assert isinstance(screen, RegisterHereScreen)
    return screen


async def test_a_child_cashier_registers_the_parents_customer_and_the_profile_opens(
    child2_till: tuple[TuiTill, UUID, str, str], loopback_world: World
) -> None:
    till, customer_id, barcode, _ = child2_till
    assert identify_at_child2(loopback_world, barcode)["code"] == "registered_at_parent"
    async with till.app().run_test(size=SIZE) as pilot:
        question = await scan_to_question(pilot, till, barcode)
        asked = str(question.query_one("#register-question", Label).render())
        await pilot.press("shift+tab", "space")
        assert question.query_one("#register-sms", Checkbox).value is True
        await pilot.click("#register")
        app = pilot.app
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
        assert isinstance(app.screen, ProfileScreen)
        shown = app.screen.customer

    assert "registered at Parent, not yet at Child Two. Register them here?" in asked
    assert shown is not None
    assert shown.id == customer_id
    assert shown.profile.custom_fields == {"tier": "gold"}
    seen = identify_at_child2(loopback_world, barcode)
    assert seen["status"] == 200
    assert seen["customer"]["id"] == str(customer_id)
    assert seen["customer"]["profile"]["flags"]["marketing_sms"] is True
    with loopback_world.client("child1.a") as http:
        at_child1 = http.get(f"/customers/{customer_id}").json()
    assert at_child1["profile"]["flags"]["marketing_sms"] is False


async def test_cancel_leaves_the_customer_unregistered_here(
    child2_till: tuple[TuiTill, UUID, str, str], loopback_world: World
) -> None:
    till, _, barcode, _ = child2_till
    async with till.app().run_test(size=SIZE) as pilot:
        await scan_to_question(pilot, till, barcode)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, IdentifyScreen), "identify")

    assert identify_at_child2(loopback_world, barcode)["code"] == "registered_at_parent"


async def test_a_typed_phone_of_the_parents_customer_offers_to_register_them_here(
    child2_till: tuple[TuiTill, UUID, str, str], loopback_world: World
) -> None:
    till, customer_id, _, mobile = child2_till
    async with till.app().run_test(size=SIZE) as pilot:
        app = pilot.app
        await logged_in(pilot, code="child2-100", pin=CASHIER_PIN)
        app.screen.query_one("#query", Input).value = mobile
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RegisterHereScreen), "the question")
        asked = str(app.screen.query_one("#register-question", Label).render())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
        assert isinstance(app.screen, ProfileScreen)
        shown = app.screen.customer

    assert asked.startswith("This phone belongs to a customer registered at Parent")
    assert shown is not None
    assert shown.id == customer_id
    with loopback_world.client("child2.a") as http:
        assert http.get(f"/customers/{customer_id}").status_code == 200
