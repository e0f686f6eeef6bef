"""Connected organizations at the till: each child's and the parent's till cache holds what
the CRM shows that till, a parent's customer is registered at a child from the till, and the
profile's organization section reads the same offline as online."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.crm_server import RunningCrm
from tests.support.till import Till
from tests.support.world import ORGS, World
from tests.till.org_caches import assert_cache_is_the_crms_view, enrolled, logged_in, sync_all
from tillcrm.api import CustomerOut
from tillcrm.domain import CustomerProfile, Identifier, IdentifierKind
from tillcrm.domain.org_fields import FieldDefinition
from tillcrm.server.db import writing
from tillcrm.server.org_config import define_field
from tillcrm.till import Declined, NotFound, Saved, org_profile

TILLS = {"parent.a": "parent-a-store", "child1.a": "child1-a-store", "child2.a": "child2-a-store"}


@pytest.fixture(scope="module")
def fields(loopback_world: World) -> None:
    """`tier` is the parent's (shared); `seat` child one's and `locker` child two's."""
    with writing(loopback_world.crm.engine) as conn:
        define_field(conn, FieldDefinition(org_id=ORGS["parent"].id, name="tier", label="Tier"))
        define_field(conn, FieldDefinition(org_id=ORGS["child1"].id, name="seat", label="Seat"))
        define_field(conn, FieldDefinition(org_id=ORGS["child2"].id, name="locker"))


@pytest.fixture
async def tills(
    tmp_path: Path, loopback_crm: RunningCrm, fields: None
) -> AsyncIterator[dict[str, Till]]:
    """A till of the parent and of each child, newly enrolled and synced."""
    async with enrolled(tmp_path, loopback_crm, TILLS) as tills:
        yield tills


def crm_view(world: World, org: str, customer_id: uuid.UUID) -> CustomerOut:
    with world.client(f"{org}.a") as http:
        return CustomerOut.model_validate(http.get(f"/customers/{customer_id}").json())


async def create_at_child1(tills: dict[str, Till]) -> tuple[uuid.UUID, str]:
    tag = uuid.uuid4().hex[:8].upper()
    service = await logged_in(tills["child1.a"], "child1.a")
    saved = service.create_customer(
        CustomerProfile(
            first_name="Conny",
            last_name=f"Till{tag}",
            custom_fields={"tier": "gold", "seat": "12A"},
        ),
        [
            Identifier(kind=IdentifierKind.BARCODE, value=f"BC{tag}"),
            Identifier(kind=IdentifierKind.MAGSTRIPE, value=f"MS{tag}"),
        ],
    )
    assert isinstance(saved, Saved)
    await sync_all(tills)
    return saved.op.entity_id, f"BC{tag}"


async def test_each_tills_cache_sees_a_child_registration_as_the_crm_shows_it(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer_id, barcode = await create_at_child1(tills)

    assert tills["child2.a"].service(down=True).cached_profile(customer_id) is None
    offline_child2 = await logged_in(tills["child2.a"], "child2.a", down=True)
    assert isinstance(await offline_child2.identify(IdentifierKind.BARCODE, barcode), NotFound)
    parent = tills["parent.a"].service(down=True).cached_profile(customer_id)
    assert parent is not None
    assert parent.profile.custom_fields == {"tier": "gold"}
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)


async def test_a_child_till_registers_the_parents_customer_and_inherits_shared_fields(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer_id, barcode = await create_at_child1(tills)
    child2 = await logged_in(tills["child2.a"], "child2.a")

    registered = await child2.register_here(IdentifierKind.BARCODE, barcode, marketing_sms=True)

    assert isinstance(registered, CustomerOut)
    assert registered.id == customer_id
    assert registered.profile.custom_fields == {"tier": "gold"}
    assert registered.profile.flags.marketing_sms is True
    offline = await logged_in(tills["child2.a"], "child2.a", down=True)
    found = await offline.identify(IdentifierKind.BARCODE, barcode)
    assert getattr(found, "customer", None) is not None
    unknown = await child2.register_here(IdentifierKind.BARCODE, "NOBODY-HAS-THIS")
    assert isinstance(unknown, NotFound)
    await sync_all(tills)
    assert crm_view(loopback_world, "child1", customer_id).profile.flags.marketing_sms is False
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)


async def test_shared_and_private_fields_and_labels_reach_each_cache_as_the_crm_keeps_them(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer_id, barcode = await create_at_child1(tills)
    child2 = await logged_in(tills["child2.a"], "child2.a")
    assert isinstance(await child2.register_here(IdentifierKind.BARCODE, barcode), CustomerOut)
    current = child2.cached_profile(customer_id)
    assert current is not None

    saved = await child2.edit_customer(
        customer_id,
        {"first_name": "Constance", "custom_fields": {"tier": "platinum", "locker": "7"}},
        current.version,
    )
    assert isinstance(saved, Saved)
    with loopback_world.client("child1.a") as http:
        http.patch(
            f"/customers/{customer_id}/membership",
            json={"label": "Season holder", "status": "gold"},
            headers={"X-Operator-Id": "child1-cashier"},
        ).raise_for_status()
    await sync_all(tills)

    cached = {org: t.service(down=True).cached_profile(customer_id) for org, t in tills.items()}
    fields = {org: c.profile.custom_fields for org, c in cached.items() if c is not None}
    assert fields == {
        "parent.a": {"tier": "platinum"},
        "child1.a": {"tier": "platinum", "seat": "12A"},
        "child2.a": {"tier": "platinum", "locker": "7"},
    }
    labels = {org: (c.label, c.status) for org, c in cached.items() if c is not None}
    assert labels == {
        "parent.a": ("", ""),
        "child1.a": ("Season holder", "gold"),
        "child2.a": ("", ""),
    }
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)


async def test_the_profiles_organization_section_reads_the_same_offline_as_online(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer_id, _ = await create_at_child1(tills)
    till = tills["child1.a"]
    offline = till.service(down=True)
    cached = offline.cached_profile(customer_id)
    assert cached is not None

    section = offline.org_profile(cached)

    online = org_profile(till.context, crm_view(loopback_world, "child1", customer_id))
    assert section == online
    assert section.context == "Child One (connected to Parent) · a"
    assert section.fields == [("Tier", "gold"), ("Seat", "12A")]
    assert section.points == [("Points", 0)]


async def test_a_field_edit_at_a_child_till_keeps_what_it_does_not_name_offline_and_at_the_crm(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer_id, _ = await create_at_child1(tills)
    offline = await logged_in(tills["child1.a"], "child1.a", down=True)
    current = offline.cached_profile(customer_id)
    assert current is not None

    saved = await offline.edit_customer(
        customer_id, {"custom_fields": {"seat": "14B"}}, current.version
    )
    assert isinstance(saved, Saved)
    cached = offline.cached_profile(customer_id)
    assert cached is not None
    assert cached.profile.custom_fields == {"tier": "gold", "seat": "14B"}
    refused = await offline.edit_customer(
        customer_id, {"custom_fields": {"locker": "3"}}, cached.version
    )
    assert refused == Declined("unknown field: locker; defined fields: seat, tier")

    await sync_all(tills)
    assert crm_view(loopback_world, "parent", customer_id).profile.custom_fields == {"tier": "gold"}
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)
