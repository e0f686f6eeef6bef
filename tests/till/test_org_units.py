"""Organization units at the till: a customer created at one unit's till is in the other
unit's cache after a pull, each cache keeps its own unit's subscription and points, just as
the CRM shows that till, and the profile's organization section says which program applies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from tests.support.crm_server import RunningCrm
from tests.support.outbox import Outbox, sale
from tests.support.till import Till
from tests.support.world import World
from tests.till.org_caches import assert_cache_is_the_crms_view, enrolled, logged_in, sync_all
from tillcrm.api import OpType
from tillcrm.domain import CustomerFlags, CustomerProfile, Identifier, IdentifierKind
from tillcrm.till import Identification, Saved

TILLS = {
    "units.a": "units-a-store",
    "units.b": "units-b-store",
    "unitsown.a": "unitsown-a-store",
    "unitsown.b": "unitsown-b-store",
}


@pytest.fixture
async def tills(tmp_path: Path, loopback_crm: RunningCrm) -> AsyncIterator[dict[str, Till]]:
    """A till of each unit of both unit organizations, newly enrolled and synced."""
    async with enrolled(tmp_path, loopback_crm, TILLS) as tills:
        yield tills


async def test_a_customer_created_at_one_units_till_is_in_every_units_cache(
    tills: dict[str, Till], loopback_world: World
) -> None:
    barcode = f"OU{uuid4().hex[:10]}"
    service = await logged_in(tills["units.a"], "units.a")
    saved = service.create_customer(
        CustomerProfile(first_name="Una", flags=CustomerFlags(marketing_sms=True)),
        [Identifier(kind=IdentifierKind.BARCODE, value=barcode)],
    )
    assert isinstance(saved, Saved)
    customer_id = saved.op.entity_id
    await sync_all(tills)

    offline_b = await logged_in(tills["units.b"], "units.b", down=True)
    found = await offline_b.identify(IdentifierKind.BARCODE, barcode)
    assert isinstance(found, Identification)
    assert found.customer.id == customer_id
    assert found.customer.profile.flags.marketing_sms is False
    cached_a = tills["units.a"].service(down=True).cached_profile(customer_id)
    assert cached_a is not None
    assert cached_a.profile.flags.marketing_sms is True
    assert tills["unitsown.a"].service(down=True).cached_profile(customer_id) is None
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)


async def test_each_units_cache_holds_the_points_its_program_gives(
    tills: dict[str, Till], loopback_world: World
) -> None:
    service = await logged_in(tills["unitsown.a"], "unitsown.a")
    saved = service.create_customer(CustomerProfile(first_name="Separate"))
    assert isinstance(saved, Saved)
    await sync_all(tills)
    customer_id = saved.op.entity_id
    with Outbox(loopback_world, "unitsown.a") as outbox:
        outbox.apply(outbox.op(OpType.SALE, customer_id, sale(("cash", 2500))))
    await sync_all(tills)

    sections = {
        name: till.service(down=True).org_profile(cached)
        for name, till in tills.items()
        if (cached := till.service(down=True).cached_profile(customer_id)) is not None
    }
    assert set(sections) == {"unitsown.a", "unitsown.b"}
    assert sections["unitsown.a"].points[0] == ("a", 25)
    assert sections["unitsown.b"].points[0] == ("b", 0)
    assert sections["unitsown.b"].sharing == "customers shared by every unit; loyalty per unit"
    assert sections["unitsown.b"].context == "Own Programs · unit b"
    assert_cache_is_the_crms_view(tills, loopback_world, customer_id)
