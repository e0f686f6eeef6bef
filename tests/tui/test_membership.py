"""The profile's label/status control under Pilot, at a connected child's till with the CRM
out of reach: the cashier changes this organization's label, status and marketing SMS, the
Info tab shows them at once, and after the next sync the CRM has them for this child only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from tests.support.tui import SIZE, TuiTill, until
from tests.support.world import CASHIER_PIN, World
from tests.tui.cashier import enrolled_till, logged_in, offline_app, scan_to_profile
from textual.widgets import Input, Static

from tillcrm.config import DeviceKind
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.screens.membership import MembershipScreen
from tillcrm.screens.profile import ProfileScreen
from tillcrm.sync import SyncEngine


@pytest.fixture
async def child1_till(
    tmp_path: Path, loopback_world: World, readers: dict[DeviceKind, SimulatedReader]
) -> AsyncIterator[tuple[TuiTill, UUID, str]]:
    """Child one's till, synced, and a customer registered at child one with a barcode."""
    barcode = f"MEM{uuid4().hex[:9].upper()}"
    body = {
        "profile": {"first_name": "Meg", "last_name": "Ember"},
        "identifiers": [{"kind": "barcode", "value": barcode}],
    }
    with loopback_world.client("child1.a") as http:
        created = http.post("/customers", json=body, headers={"X-Operator-Id": "child1-cashier"})
        created.raise_for_status()
    async with enrolled_till(tmp_path, loopback_world.crm, readers, store="child1-a-store") as till:
        yield till, UUID(created.json()["id"]), barcode


async def test_the_cashier_changes_this_orgs_label_status_and_sms_offline(
    child1_till: tuple[TuiTill, UUID, str], loopback_world: World
) -> None:
    till, customer_id, barcode = child1_till
    async with offline_app(till) as app, app.run_test(size=SIZE) as pilot:
        await logged_in(pilot, code="child1-100", pin=CASHIER_PIN)
        profile = await scan_to_profile(pilot, till, customer_id, barcode)
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, MembershipScreen), "the dialog")
        dialog = app.screen
        dialog.query_one("#membership-label", Input).value = "x" * 61
        await pilot.press("ctrl+s")
        refused = str(dialog.query_one("#membership-error", Static).render())
        assert isinstance(app.screen, MembershipScreen)
        dialog.query_one("#membership-label", Input).value = "Season holder"
        dialog.query_one("#membership-status", Input).value = "gold"
        dialog.query_one("#membership-sms").focus()
        await pilot.press("space", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile again")
        await until(
            pilot,
            lambda: "Season holder" in str(profile.query_one("#info-org", Static).render()),
            "the new label on the Info tab",
        )
        shown = str(profile.query_one("#info-org", Static).render())
        flags = str(profile.query_one("#info-flags", Static).render())

    assert refused.startswith("label:")
    assert "Label     Season holder   Status gold" in shown
    assert "Marketing SMS yes" in flags
    await SyncEngine(till.db, till.client, till.settings.sync).sync_once()
    with loopback_world.client("child1.a") as http:
        at_child1 = http.get(f"/customers/{customer_id}").json()
    assert (at_child1["label"], at_child1["status"]) == ("Season holder", "gold")
    assert at_child1["profile"]["flags"]["marketing_sms"] is True
