"""What a connected organization keeps of its own about a customer, changed at its till:
label, status and marketing-SMS subscription. The change is saved offline, queued in the
outbox, reaches the CRM exactly once, and the sibling organization keeps its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.crm_server import RunningCrm
from tests.support.till import Till
from tests.support.world import World
from tests.till.org_caches import (
    assert_cache_is_the_crms_view,
    enrolled,
    logged_in,
    seen_parts,
    sync_all,
)
from tillcrm.api import CustomerOut, OpType
from tillcrm.domain import CustomerProfile, Identifier, IdentifierKind
from tillcrm.server.tables import audit_log
from tillcrm.till import Declined, Saved

TILLS = {"child1.a": "child1-a-store", "child2.a": "child2-a-store"}


@pytest.fixture
async def tills(tmp_path: Path, loopback_crm: RunningCrm) -> AsyncIterator[dict[str, Till]]:
    """A till of each child, newly enrolled and synced."""
    async with enrolled(tmp_path, loopback_crm, TILLS) as tills:
        yield tills


async def registered_at_both(tills: dict[str, Till]) -> uuid.UUID:
    """A customer created at child one's till and registered at child two's, all synced."""
    barcode = f"MB{uuid.uuid4().hex[:10].upper()}"
    child1 = await logged_in(tills["child1.a"], "child1.a")
    saved = child1.create_customer(
        CustomerProfile(first_name="Mem", last_name="Bership"),
        [Identifier(kind=IdentifierKind.BARCODE, value=barcode)],
    )
    assert isinstance(saved, Saved)
    await sync_all(tills)
    child2 = await logged_in(tills["child2.a"], "child2.a")
    assert isinstance(await child2.register_here(IdentifierKind.BARCODE, barcode), CustomerOut)
    await sync_all(tills)
    return saved.op.entity_id


def crm_view(world: World, org: str, customer_id: uuid.UUID) -> CustomerOut:
    with world.client(f"{org}.a") as http:
        return CustomerOut.model_validate(http.get(f"/customers/{customer_id}").json())


def membership_changes(world: World, customer_id: uuid.UUID) -> list[str]:
    with world.crm.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(audit_log.c.org_id).where(
                    audit_log.c.customer_id == customer_id,
                    audit_log.c.action == OpType.MEMBERSHIP_UPDATE.value,
                )
            ).scalars()
        )


async def test_an_offline_label_status_and_subscription_change_reaches_the_crm_once(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer_id = await registered_at_both(tills)
    sibling_before = seen_parts(crm_view(loopback_world, "child2", customer_id))
    offline = await logged_in(tills["child1.a"], "child1.a", down=True)

    saved = offline.update_membership(
        customer_id, label="Season holder", status="gold", marketing_sms=True
    )

    assert isinstance(saved, Saved)
    assert saved.queued
    cached = offline.cached_profile(customer_id)
    assert cached is not None
    assert (cached.label, cached.status, cached.profile.flags.marketing_sms) == (
        "Season holder",
        "gold",
        True,
    )
    assert membership_changes(loopback_world, customer_id) == []
    await sync_all(tills)
    await tills["child1.a"].sync()
    at_child1 = crm_view(loopback_world, "child1", customer_id)
    assert (at_child1.label, at_child1.status) == ("Season holder", "gold")
    assert at_child1.profile.flags.marketing_sms is True
    assert seen_parts(crm_view(loopback_world, "child2", customer_id)) == sibling_before
    assert membership_changes(loopback_world, customer_id) == ["org-child1"]
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)


async def test_a_bad_or_empty_membership_change_is_refused_and_queues_nothing(
    tills: dict[str, Till],
) -> None:
    customer_id = await registered_at_both(tills)
    service = await logged_in(tills["child1.a"], "child1.a", down=True)
    queued = len(service.queued())

    too_long = service.update_membership(customer_id, label="x" * 61)
    nothing = service.update_membership(customer_id)
    unknown = service.update_membership(uuid.uuid4(), status="gold")

    assert isinstance(too_long, Declined)
    assert too_long.reason.startswith("label:")
    assert nothing == Declined("nothing to change")
    assert unknown == Declined("unknown customer")
    assert len(service.queued()) == queued
    cached = service.cached_profile(customer_id)
    assert cached is not None
    assert cached.label == ""
