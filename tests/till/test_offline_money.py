"""The offline money policy through the facade, with the CRM down: redemptions within the caps
are saved and queued; past a cap, or on a stale balance, they need a supervisor's override.
The caps here: 50 per transaction, 80 for the till (tests/till/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from tests.support.customers import put_customer
from tests.support.world import CASHIER_PIN, SUPERVISOR_BADGE, World
from tests.till.conftest import Till
from tillcrm.api import SaleLineTender
from tillcrm.domain import LimitKind, TenderKind, TransactionLine
from tillcrm.domain.offline import OfflineBreach, OfflineRule
from tillcrm.local import OpState, Outbox
from tillcrm.till import BalanceInquiry, Offline, OverrideRequired, Saved, TillService


async def _customer_with_points(till: Till, world: World) -> UUID:
    """A customer who earned 100 points with a cash sale, synced into the till's cache."""
    customer_id = put_customer(world, "brand", first_name="Olive")
    online = till.service()
    await online.login("brand-100", CASHIER_PIN)
    sale = await online.sale(
        customer_id,
        [TransactionLine(description="Season pass", unit_price=10_000)],
        [SaleLineTender(kind=TenderKind.CASH, amount=10_000)],
    )
    assert isinstance(sale, Saved)
    await till.sync()
    return customer_id


async def _offline(till: Till, clock: Callable[[], float] | None = None) -> TillService:
    service = till.service(down=True, clock=clock)
    await service.login("brand-100", CASHIER_PIN)
    return service


def _rules(answer: object) -> list[tuple[OfflineRule, int]]:
    assert isinstance(answer, OverrideRequired), answer
    return [(b.rule, b.excess) for b in answer.breaches if isinstance(b, OfflineBreach)]


async def test_redemptions_within_the_caps_are_saved_and_queued(
    till: Till, loopback_world: World
) -> None:
    customer_id = await _customer_with_points(till, loopback_world)
    service = await _offline(till)

    first = await service.redeem_points(customer_id, 50, "free drink")
    over_till_cap = await service.redeem_points(customer_id, 31, "free drink")
    second = await service.redeem_points(customer_id, 30, "free drink")

    assert isinstance(first, Saved)
    assert first.queued
    assert first.message == "saved, queued until the CRM is back"
    assert _rules(over_till_cap) == [(OfflineRule.TILL_CAP, 1)]
    assert isinstance(second, Saved)
    assert Outbox(till.db).pending_offline_debits() == 80
    inquiry = await service.balance(customer_id, "points")
    assert isinstance(inquiry, BalanceInquiry)
    assert (inquiry.balance, inquiry.live) == (20, False)

    await till.sync()
    assert Outbox(till.db).count(OpState.ACKED) == 3  # the sale and both redemptions
    online = till.service()
    live = await online.balance(customer_id, "points")
    assert isinstance(live, BalanceInquiry)
    assert (live.balance, live.live) == (20, True)


async def test_past_the_per_transaction_cap_a_supervisor_can_override(
    till: Till, loopback_world: World
) -> None:
    customer_id = await _customer_with_points(till, loopback_world)
    service = await _offline(till)

    required = await service.redeem_points(customer_id, 51, "birthday")

    assert _rules(required) == [(OfflineRule.TRANSACTION_CAP, 1)]
    assert isinstance(required, OverrideRequired)
    assert required.limits == {LimitKind.OFFLINE}
    approval = service.approve(required, reason="birthday", badge=SUPERVISOR_BADGE)
    saved = await service.redeem_points(customer_id, 51, "birthday", override=approval)
    assert isinstance(saved, Saved)
    assert saved.op.override == approval
    assert saved.op.offline


async def test_a_balance_older_than_a_day_cannot_back_an_offline_redemption(
    till: Till, loopback_world: World
) -> None:
    customer_id = await _customer_with_points(till, loopback_world)
    tomorrow = time.time() + 24 * 3600
    service = await _offline(till, clock=lambda: tomorrow)

    required = await service.redeem_points(customer_id, 10, "late")

    assert [rule for rule, _ in _rules(required)] == [OfflineRule.STALE_BALANCE]
    assert isinstance(required, OverrideRequired)
    assert required.lines() == ["offline: the cached balance is older than 24 h"]


async def test_more_points_than_the_cached_balance_are_declined_offline(
    till: Till, loopback_world: World
) -> None:
    customer_id = await _customer_with_points(till, loopback_world)
    service = await _offline(till)
    await service.redeem_points(customer_id, 50, "a")
    assert isinstance(await service.redeem_points(customer_id, 30, "b"), Saved)
    # 20 points left in the cache, 80 of the till's cap used: 21 breaks both.
    rules = dict(_rules(await service.redeem_points(customer_id, 21, "c")))
    assert rules == {OfflineRule.TILL_CAP: 21, OfflineRule.PROJECTED_BALANCE: 1}


async def test_gift_card_loads_and_the_wallet_are_online_only(
    till: Till, loopback_world: World
) -> None:
    customer_id = await _customer_with_points(till, loopback_world)
    service = await _offline(till)
    assert isinstance(await service.load_stored_value(customer_id, 1_000), Offline)
    assert isinstance(await service.wallet(customer_id), Offline)
