"""Till caches against the CRM for the organization-framework tests: each till's cache must
hold exactly what the CRM shows that till."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.crm_server import RunningCrm
from tests.support.till import Till, close_till, enroll_till
from tests.support.world import CASHIER_PIN, World
from tillcrm.api import CustomerOut
from tillcrm.till import TillService


@asynccontextmanager
async def enrolled(
    tmp_path: Path, crm: RunningCrm, stores: dict[str, str]
) -> AsyncIterator[dict[str, Till]]:
    """A till newly enrolled and synced at each store of `stores` (keyed by world till name),
    closed afterwards."""
    tills = {name: await enroll_till(tmp_path / name, crm, store) for name, store in stores.items()}
    try:
        yield tills
    finally:
        for till in tills.values():
            await close_till(till)


async def logged_in(till: Till, name: str, *, down: bool = False) -> TillService:
    """A service of `till` with the cashier of world till `name`'s organization logged in."""
    service = till.service(down=down)
    await service.login(f"{name.split('.')[0]}-100", CASHIER_PIN)
    return service


async def sync_all(tills: dict[str, Till]) -> None:
    """Every till pushes its outbox and pulls, twice: each then holds every other's pushes."""
    for _ in range(2):
        for till in tills.values():
            await till.sync()


def seen_parts(customer: CustomerOut) -> dict[str, Any]:
    """What the organization frameworks decide about a record."""
    return {
        "custom_fields": customer.profile.custom_fields,
        "first_name": customer.profile.first_name,
        "label": customer.label,
        "status": customer.status,
        "marketing_sms": customer.profile.flags.marketing_sms,
        "points": [(p.brand_id, p.balance) for p in customer.balances.points],
        "cards": sorted((i.kind.value, i.value) for i in customer.identifiers),
    }


def assert_cache_is_the_crms_view(
    tills: dict[str, Till], world: World, customer_id: uuid.UUID
) -> None:
    """Each till's cache (keyed by the world's till name) holds exactly what the CRM shows
    that till, or nothing when the till may not see the customer."""
    for name, till in tills.items():
        cached = till.service(down=True).cached_profile(customer_id)
        with world.client(name) as http:
            online = http.get(f"/customers/{customer_id}")
        if online.status_code == 404:
            assert cached is None, name
            continue
        assert cached is not None, name
        assert seen_parts(cached) == seen_parts(CustomerOut.model_validate(online.json())), name
