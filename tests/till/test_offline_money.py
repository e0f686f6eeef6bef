"""The offline money policy through the facade, with the CRM down: redemptions within the caps
are saved and queued; past a cap, or on a stale balance, they need a supervisor's override.
The points caps here: 50 per transaction, 80 for the till; money has its own
(tests/support/till.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from tests.support.customers import put_customer
from tests.support.outbox import put_card
from tests.support.till import Till, customer_with_points
from tests.support.world import CASHIER_PIN, SUPERVISOR_BADGE, World
from tillcrm.api import SaleLineTender
from tillcrm.crm import CrmClient
from tillcrm.domain import LimitKind, PromotionCategory, TenderKind, TransactionLine
from tillcrm.domain.offline import OfflineBreach, OfflineRule
from tillcrm.local import OfflineDebits, OpState, Outbox
from tillcrm.server import admin
from tillcrm.server.db import writing
from tillcrm.till import BalanceInquiry, Offline, OverrideRequired, Saved, TillService


async def _customer_with_points(till: Till, world: World) -> UUID:
    return await customer_with_points(till, world, first_name="Olive")


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
    assert Outbox(till.db).pending_offline_debits() == OfflineDebits(points=80)
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
    assert required.action.limits == {LimitKind.OFFLINE}
    approval = await service.approve(required, reason="birthday", badge=SUPERVISOR_BADGE)
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


async def test_points_and_money_taken_offline_are_capped_apart(
    till: Till, loopback_world: World
) -> None:
    """80 points and 70.00 of stored value fit their own per-till caps (80 points, 80.00):
    added together (150) they would have broken one shared cap."""
    customer_id = await _customer_with_points(till, loopback_world)
    put_card(loopback_world, customer_id, 10_000)
    assert await till.service().profile(customer_id) is not None  # the card's balance cached
    service = await _offline(till)
    lines = [TransactionLine(description="Dinner", unit_price=3_500)]
    on_card = [SaleLineTender(kind=TenderKind.STORED_VALUE, amount=3_500)]

    assert isinstance(await service.redeem_points(customer_id, 50, "drink"), Saved)
    assert isinstance(await service.redeem_points(customer_id, 30, "dessert"), Saved)
    assert isinstance(await service.sale(customer_id, lines, on_card), Saved)
    assert isinstance(await service.sale(customer_id, lines, on_card), Saved)

    assert Outbox(till.db).pending_offline_debits() == OfflineDebits(money=7_000, points=80)
    one_point_more = await service.redeem_points(customer_id, 1, "mint")
    assert _rules(one_point_more) == [(OfflineRule.TILL_CAP, 1)]
    past_money_cap = await service.sale(
        customer_id,
        [TransactionLine(description="Wine", unit_price=1_001)],
        [SaleLineTender(kind=TenderKind.STORED_VALUE, amount=1_001)],
    )
    assert _rules(past_money_cap) == [(OfflineRule.TILL_CAP, 1)]


async def test_the_promotion_categorys_credit_limit_applies_on_the_till(
    till: Till, loopback_world: World
) -> None:
    """A customer without a credit limit of their own charges up to their category's, as the
    CRM checks it; offline too (the till keeps its context with the categories)."""
    with writing(loopback_world.crm.engine) as conn:
        admin.add_promotion_category(
            conn, "org-brand", PromotionCategory(id="brand-house", name="House", credit_limit=2_000)
        )
    customer_id = put_customer(
        loopback_world, "brand", first_name="Cat", promotion_category_id="brand-house"
    )
    await till.sync()
    async with CrmClient(till.crm_url, token=till.token) as client:
        context = await client.me()
    house = [SaleLineTender(kind=TenderKind.STORE_CREDIT, amount=2_500)]
    lines = [TransactionLine(description="Dinner", unit_price=2_500)]
    for down in (True, False):
        service = TillService(till.db, context, till.settings, till.client(down=down))
        await service.login("brand-100", CASHIER_PIN)

        over = await service.sale(customer_id, lines, house)

        assert isinstance(over, OverrideRequired)
        assert [(b.kind, b.limit, b.excess) for b in over.breaches] == [
            (LimitKind.CREDIT, 2_000, 500)
        ]
