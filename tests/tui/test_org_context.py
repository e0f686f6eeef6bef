"""The profile's organization section under Pilot, at a connected child's till with the CRM
out of reach: which organization the cashier sees the customer in, the parent's and this
child's fields (never a sibling's), this organization's label and status, and the balance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from tests.support.tui import SIZE, TuiTill
from tests.support.world import CASHIER_PIN, ORGS, World
from tests.tui.cashier import enrolled_till, logged_in, offline_app, scan_to_profile
from textual.widgets import Static

from tillcrm.config import DeviceKind
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain.org_fields import FieldDefinition
from tillcrm.server.db import writing
from tillcrm.server.org_config import define_field


@pytest.fixture
async def child_till(
    tmp_path: Path, loopback_world: World, readers: dict[DeviceKind, SimulatedReader]
) -> AsyncIterator[tuple[TuiTill, UUID, str]]:
    """Child one's till, synced, and a customer registered there with a barcode, fields of
    the parent, of child one and of child two, and child one's label and status."""
    with writing(loopback_world.crm.engine) as conn:
        define_field(conn, FieldDefinition(org_id=ORGS["parent"].id, name="tier", label="Tier"))
        define_field(conn, FieldDefinition(org_id=ORGS["child1"].id, name="seat", label="Seat"))
        define_field(conn, FieldDefinition(org_id=ORGS["child2"].id, name="locker"))
    barcode = f"ORG{uuid4().hex[:9].upper()}"
    body = {
        "profile": {"first_name": "Conny", "custom_fields": {"tier": "gold", "seat": "12A"}},
        "identifiers": [{"kind": "barcode", "value": barcode}],
    }
    acting = {"X-Operator-Id": "child1-cashier"}
    with loopback_world.client("child1.a") as http:
        created = http.post("/customers", json=body, headers=acting)
        created.raise_for_status()
        customer_id = UUID(created.json()["id"])
        http.patch(
            f"/customers/{customer_id}/membership",
            json={"label": "Season holder", "status": "gold"},
            headers=acting,
        ).raise_for_status()
    async with enrolled_till(tmp_path, loopback_world.crm, readers, store="child1-a-store") as till:
        yield till, customer_id, barcode


async def test_the_profile_shows_the_child_context_fields_label_and_points_offline(
    child_till: tuple[TuiTill, UUID, str],
) -> None:
    till, customer_id, barcode = child_till
    async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
        await logged_in(pilot, code="child1-100", pin=CASHIER_PIN)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        shown = str(profile.query_one("#info-org", Static).render())

    assert "Seen at   Child One (connected to Parent) · a" in shown
    assert "Shared    customers registered here; the identity is kept by Parent" in shown
    assert "Label     Season holder   Status gold" in shown
    assert "Tier      gold" in shown
    assert "Seat      12A" in shown
    assert "locker" not in shown.lower()
    assert "Balances  Points 0" in shown
