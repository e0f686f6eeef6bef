"""Pull never overwrites what a cashier saved and the CRM has not seen yet: a customer with
ops waiting in the outbox keeps the till's own record until they sync, then the CRM's comes
back; a customer whose op the CRM rejects gets the CRM's record again."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.support.outbox import Outbox as CrmOutbox
from tests.support.outbox import sale
from tests.support.till import Till, customer_with_points
from tests.support.world import CASHIER_PIN, World
from tillcrm.api import CustomerOut, OpType
from tillcrm.local import CustomerCache, OpState, Outbox
from tillcrm.sync import SyncEngine
from tillcrm.till import BalanceInquiry, OverrideRequired, Saved, TillService


async def _offline_with_customer(till: Till, world: World) -> tuple[UUID, TillService, CustomerOut]:
    """A customer with 100 points in the cache, a cashier logged in with the CRM down, and
    the customer's record as the cashier opened it."""
    customer_id = await customer_with_points(till, world, first_name="Pia", comments="before")
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)
    opened = offline.cached_profile(customer_id)
    assert opened is not None
    return customer_id, offline, opened


def _points(till: Till, customer_id: UUID) -> int:
    cached = CustomerCache(till.db).get(customer_id)
    assert cached is not None
    return cached.balances.points[0].balance


async def test_pull_keeps_an_offline_edit_and_points_change_until_they_sync(
    till: Till, loopback_world: World
) -> None:
    customer_id, offline, opened = await _offline_with_customer(till, loopback_world)
    assert isinstance(await offline.redeem_points(customer_id, 30, "free drink"), Saved)
    edit = await offline.edit_customer(customer_id, {"comments": "after"}, opened.version)
    assert isinstance(edit, Saved)
    # Meanwhile another till of the store sells to the customer: the CRM's record changes,
    # so the next pull carries it, without the cashier's two ops.
    with CrmOutbox(loopback_world, "brand.a") as other:
        other.apply(other.op(OpType.SALE, customer_id, sale(("cash", 1_000))))

    engine = SyncEngine(till.db, till.client(), till.settings.sync)
    assert await engine.pull_once() == 0  # the page's one customer is held back

    kept = CustomerCache(till.db).get(customer_id)
    assert kept is not None
    assert kept.profile.comments == "after"
    assert _points(till, customer_id) == 70
    assert Outbox(till.db).depth() == 2  # the redemption and the edit

    await engine.sync_once()  # push first, then the pull brings the CRM's record

    assert Outbox(till.db).depth() == 0
    synced = CustomerCache(till.db).get(customer_id)
    assert synced is not None
    assert synced.profile.comments == "after"
    assert _points(till, customer_id) == 80  # 100 - 30 + 10 from the other till's sale


async def test_a_rejected_op_brings_the_crms_record_back(till: Till, loopback_world: World) -> None:
    customer_id, offline, opened = await _offline_with_customer(till, loopback_world)
    edit = await offline.edit_customer(customer_id, {"comments": "mine"}, opened.version)
    assert isinstance(edit, Saved)
    # The CRM's record moves on: the till's edit, made against the old version, is stale.
    with loopback_world.client("brand.a") as http:
        http.patch(
            f"/customers/{customer_id}",
            json={"base_version": opened.version, "changes": {"comments": "theirs"}},
            headers={"X-Operator-Id": "brand-cashier"},
        ).raise_for_status()

    engine = SyncEngine(till.db, till.client(), till.settings.sync)
    await engine.pull_once()  # the CRM's change arrives while the edit waits: skipped
    mine = CustomerCache(till.db).get(customer_id)
    assert mine is not None
    assert mine.profile.comments == "mine"

    await engine.sync_once()  # the edit is rejected; no later pull would carry the customer

    assert Outbox(till.db).count(OpState.DEAD) == 1
    cached = CustomerCache(till.db).get(customer_id)
    assert cached is not None
    assert cached.profile.comments == "theirs"


async def _redemption_synced_mid_answer(
    till: Till, loopback_world: World, monkeypatch: pytest.MonkeyPatch, first_name: str
) -> tuple[TillService, UUID]:
    """A logged-in till and a customer with 100 points whose first CRM answer is held back
    until a redemption of 30 has synced: the answer says 100, the CRM holds 70 by then."""
    customer_id = await customer_with_points(till, loopback_world, first_name=first_name)
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    client = till.clients[-1]
    ask = client.customer
    interleaved: list[CustomerOut] = []

    async def answered_after_a_redemption_synced(customer: UUID) -> CustomerOut:
        record = await ask(customer)  # the CRM reads the customer: 100 points
        if not interleaved:
            interleaved.append(record)
            assert isinstance(await service.redeem_points(customer, 30, "free drink"), Saved)
            await till.sync()  # pushed and applied: the CRM has 70 now
        return record

    monkeypatch.setattr(client, "customer", answered_after_a_redemption_synced)
    return service, customer_id


async def test_a_record_read_before_the_tills_own_op_applied_is_not_cached(
    till: Till, loopback_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile refresh's answer can be on its way while the till pushes an op for the
    customer and the CRM applies it: the answer was read before the op, and caching it would
    take the op back out of the cache (a redemption's points reappeared)."""
    service, customer_id = await _redemption_synced_mid_answer(
        till, loopback_world, monkeypatch, "Rae"
    )
    refreshed = await service.profile(customer_id)
    assert refreshed is not None
    assert refreshed.balances.points[0].balance == 100  # the answer, as the CRM read it
    assert _points(till, customer_id) == 70
    assert Outbox(till.db).depth() == 0


async def test_a_charge_is_not_checked_against_a_record_read_before_the_tills_own_op(
    till: Till, loopback_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race on the way to a charge: a redemption checked against the CRM's answer
    read before the till's last redemption applied would pass on points already spent."""
    service, customer_id = await _redemption_synced_mid_answer(
        till, loopback_world, monkeypatch, "Ras"
    )
    answer = await service.redeem_points(customer_id, 80, "a bigger prize")
    assert isinstance(answer, OverrideRequired)
    assert [breach.excess for breach in answer.breaches] == [10]
    assert _points(till, customer_id) == 70


async def test_a_balance_is_not_read_from_a_record_read_before_the_tills_own_op(
    till: Till, loopback_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race on a balance inquiry: the CRM's answer would show points already
    spent as live; the cached balance, with its age, holds the redemption."""
    service, customer_id = await _redemption_synced_mid_answer(
        till, loopback_world, monkeypatch, "Rob"
    )
    answer = await service.balance(customer_id, "points")
    assert isinstance(answer, BalanceInquiry)
    assert (answer.balance, answer.live) == (70, False)
