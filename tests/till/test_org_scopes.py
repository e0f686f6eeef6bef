"""The standard organization's scopes at the till (FNBNext's model): brand-scoped customers stay
out of another brand's cache; organization-scoped customers are in every brand's cache, with one
points pool or one wallet per brand, each cache holding what the CRM shows that till."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest

from tests.support.crm_server import RunningCrm
from tests.support.customers import put_customer
from tests.support.outbox import Outbox, sale
from tests.support.till import Till
from tests.support.world import World
from tests.till.org_caches import assert_cache_is_the_crms_view, enrolled, sync_all
from tillcrm.api import OpType

TILLS = {
    f"{org}.{brand}": f"{org}-{brand}-store"
    for org in ("brand", "pool", "wallets")
    for brand in "ab"
}


@pytest.fixture
async def tills(tmp_path: Path, loopback_crm: RunningCrm) -> AsyncIterator[dict[str, Till]]:
    """A till of each brand of the three standard organizations, newly enrolled and synced."""
    async with enrolled(tmp_path, loopback_crm, TILLS) as tills:
        yield tills


def points_in_caches(tills: dict[str, Till], customer_id: UUID) -> dict[str, object]:
    """Each till's cached points balances of the customer, or None when not cached."""
    shown: dict[str, object] = {}
    for name, till in tills.items():
        cached = till.service(down=True).cached_profile(customer_id)
        shown[name] = (
            None if cached is None else [(p.brand_id, p.balance) for p in cached.balances.points]
        )
    return shown


async def test_a_brand_scoped_customer_is_only_in_its_brands_cache(
    tills: dict[str, Till], loopback_world: World
) -> None:
    customer = put_customer(loopback_world, "brand", "b", first_name="Bea")
    await sync_all(tills)
    cached = points_in_caches(tills, customer)
    assert cached["brand.b"] == [("brand-b", 0)]
    assert cached["brand.a"] is None
    assert_cache_is_the_crms_view(tills, loopback_world, customer)


async def test_organization_scope_with_a_shared_pool_or_brand_wallets_in_each_cache(
    tills: dict[str, Till], loopback_world: World
) -> None:
    pooled = put_customer(loopback_world, "pool", None, first_name="Pooled")
    walleted = put_customer(loopback_world, "wallets", None, first_name="Walleted")
    for customer, org in ((pooled, "pool"), (walleted, "wallets")):
        with Outbox(loopback_world, f"{org}.a") as a, Outbox(loopback_world, f"{org}.b") as b:
            a.apply(a.op(OpType.SALE, customer, sale(("cash", 1200))))
            b.apply(b.op(OpType.SALE, customer, sale(("cash", 800))))
    await sync_all(tills)

    pool = points_in_caches(tills, pooled)
    assert (pool["pool.a"], pool["pool.b"]) == ([(None, 20)], [(None, 20)])
    wallets = points_in_caches(tills, walleted)
    assert wallets["wallets.a"] == [("wallets-a", 12), ("wallets-b", 8)]
    assert wallets["wallets.b"] == [("wallets-b", 8), ("wallets-a", 12)]
    assert pool["brand.a"] is None
    for customer in (pooled, walleted):
        assert_cache_is_the_crms_view(tills, loopback_world, customer)
