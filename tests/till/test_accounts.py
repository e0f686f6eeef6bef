"""The online-only paths through the facade (stored value, card reveal, wallet, loyalty,
suites, history) against the CRM, and their `Offline` answer when it is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import put_card
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, SUPERVISOR_BADGE, World
from tillcrm.api import SaleLineTender, StoredValueOut, WalletAdd, WalletCardOut, WalletUpdate
from tillcrm.domain import LimitKind, TenderKind, TransactionLine
from tillcrm.server.db import reading, writing
from tillcrm.server.tables import audit_log, suites
from tillcrm.till import (
    BalanceInquiry,
    Declined,
    Offline,
    OverrideRequired,
    QuickRange,
    Saved,
    TillService,
    quick_range,
)


async def _setup(
    till: Till, world: World, *, balance: int | None = None, per_event_limit: int | None = None
) -> tuple[TillService, UUID]:
    customer_id = put_customer(world, "brand", first_name="Sam")
    if balance is not None:
        put_card(world, customer_id, balance, per_event_limit=per_event_limit)
    await till.sync()
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    return service, customer_id


async def test_stored_value_checks_the_live_per_event_limit_and_loads_online(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _setup(till, loopback_world, balance=5_000, per_event_limit=2_000)
    card = await service.stored_value(customer_id)
    assert isinstance(card, StoredValueOut)
    assert card.balance == 5_000
    assert "SV" not in card.card_number_masked[:-4]

    lines = [TransactionLine(description="Drinks", unit_price=2_500)]
    tenders = [SaleLineTender(kind=TenderKind.STORED_VALUE, amount=2_500)]
    over = await service.sale(customer_id, lines, tenders, event_id="brand-event")
    assert isinstance(over, OverrideRequired)
    assert [(b.kind, b.limit, b.excess) for b in over.breaches] == [
        (LimitKind.PER_EVENT, 2_000, 500)
    ]

    loaded = await service.load_stored_value(customer_id, 1_000)
    assert isinstance(loaded, StoredValueOut)
    assert loaded.balance == 6_000
    live = await service.balance(customer_id, "stored_value")
    assert isinstance(live, BalanceInquiry)
    assert (live.balance, live.live) == (6_000, True)

    offline = till.service(down=True)
    cached = await offline.balance(customer_id, "stored_value")
    assert isinstance(cached, BalanceInquiry)
    assert (cached.balance, cached.live) == (6_000, False)
    assert cached.age < timedelta(minutes=5)
    await offline.login("brand-100", CASHIER_PIN)
    assert isinstance(await offline.stored_value(customer_id), Offline)
    assert isinstance(await offline.load_stored_value(customer_id, 1_000), Offline)


async def test_revealing_the_card_number_needs_a_supervisor_and_is_audited(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _setup(till, loopback_world, balance=100)

    required = await service.reveal_card_number(customer_id)
    assert isinstance(required, OverrideRequired)
    approval = await service.approve(
        required, reason="customer lost the card", badge=SUPERVISOR_BADGE
    )
    number = await service.reveal_card_number(customer_id, override=approval)

    assert number == f"SV{customer_id.int % 10**14:014d}"
    with loopback_world.crm.engine.connect() as conn:
        row = conn.execute(
            sa.select(audit_log.c.operator_id, audit_log.c.approver_id).where(
                audit_log.c.customer_id == customer_id,
                audit_log.c.action == "stored_value_reveal",
            )
        ).one()
    assert tuple(row) == ("brand-cashier", "brand-super")


async def test_the_wallet_is_online_only_and_keeps_no_card_number(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _setup(till, loopback_world)
    request = WalletAdd(card_number="4242 4242 4242 4242", exp_month=12, exp_year=2030)

    added = await service.add_wallet_card(customer_id, request)
    assert isinstance(added, WalletCardOut)
    assert added.last4 == "4242"
    changed = await service.update_wallet_card(customer_id, added.id, WalletUpdate(label="work"))
    assert isinstance(changed, WalletCardOut)
    assert changed.label == "work"
    assert await service.wallet(customer_id) == [changed]
    assert await service.remove_wallet_card(customer_id, added.id) is True
    assert await service.remove_wallet_card(customer_id, added.id) is False
    assert b"4242424242424242" not in till.db.path.read_bytes()


async def test_history_loyalty_and_suites_come_from_the_crm(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _setup(till, loopback_world)
    sale = await service.sale(
        customer_id,
        [TransactionLine(description="Burger", unit_price=1_200)],
        [SaleLineTender(kind=TenderKind.CASH, amount=1_200)],
    )
    assert isinstance(sale, Saved)
    await till.sync()

    start, end = quick_range(QuickRange.TODAY, datetime.now(UTC), "UTC")
    today = await service.history(customer_id, start=start, end=end)
    earlier = await service.history(customer_id, end=start - timedelta(days=1))
    loyalty = await service.loyalty(customer_id)
    suites = await service.suites(customer_id)

    assert not isinstance(today, Offline)
    assert [(t.total, t.points_earned) for t in today.items] == [(1_200, 12)]
    assert not isinstance(earlier, Offline)
    assert earlier.items == []
    receipt = await service.receipt(today.items[0].id)
    assert not isinstance(receipt, Offline)
    assert receipt.lines[0].description == "Burger"
    assert not isinstance(loyalty, Offline)
    assert loyalty.accounts[0].balance == 12
    assert not isinstance(suites, Offline)
    assert suites.ongoing == suites.upcoming == suites.closed == []

    offline = till.service(down=True)
    assert isinstance(await offline.history(customer_id), Offline)
    assert isinstance(await offline.loyalty(customer_id), Offline)
    assert isinstance(await offline.suites(customer_id), Offline)


async def test_a_removed_suite_is_hidden_until_the_crm_has_the_removal(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _setup(till, loopback_world)
    now = datetime.now(UTC)
    suite_id = uuid4()
    with writing(loopback_world.crm.engine) as conn:
        conn.execute(
            suites.insert().values(
                id=suite_id,
                customer_id=customer_id,
                name="Suite 7",
                event_name="Derby day",
                starts_at=now + timedelta(days=2),
                ends_at=now + timedelta(days=2, hours=4),
            )
        )
    listed = await service.suites(customer_id)
    assert not isinstance(listed, Offline)
    assert [row.suite.id for row in listed.upcoming] == [suite_id]

    removed = service.remove_suite(customer_id, suite_id)
    assert isinstance(removed, Saved)
    theirs = sa.select(suites.c.id).where(suites.c.customer_id == customer_id)
    with reading(loopback_world.crm.engine) as conn:  # not pushed yet: the CRM still has it
        assert conn.execute(theirs).scalars().all() == [suite_id]
    hidden = await service.suites(customer_id)
    assert not isinstance(hidden, Offline)
    assert hidden.upcoming == []

    await till.sync()
    with reading(loopback_world.crm.engine) as conn:
        assert conn.execute(theirs).scalars().all() == []
    assert isinstance(service.remove_suite(uuid4(), suite_id), Declined)


async def test_stored_value_is_declined_for_a_customer_without_a_card_online_and_offline(
    till: Till, loopback_world: World
) -> None:
    """No override can give a customer a stored-value card: the till declines the tender at
    once instead of asking a supervisor and queuing a sale the CRM will refuse."""
    service, customer_id = await _setup(till, loopback_world)
    lines = [TransactionLine(description="Drinks", unit_price=1_000)]
    tenders = [SaleLineTender(kind=TenderKind.STORED_VALUE, amount=1_000)]
    online = await service.sale(customer_id, lines, tenders)
    assert isinstance(online, Declined)
    assert "no stored-value card" in online.reason
    down = till.service(down=True)
    await down.login("brand-100", CASHIER_PIN)
    offline = await down.sale(customer_id, lines, tenders)
    assert isinstance(offline, Declined)
    assert "no stored-value card" in offline.reason
    assert till.db.read("SELECT count(*) FROM outbox WHERE type = 'sale'")[0][0] == 0
