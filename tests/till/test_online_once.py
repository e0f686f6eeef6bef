"""Online-only writes whose answer is lost: the CRM committed, the till saw a broken
connection. The cashier's retry of the same action carries the same idempotency key, so a
gift-card load lands once and a card is saved once."""

from __future__ import annotations

import asyncio
from uuid import UUID

import sqlalchemy as sa
from pydantic import SecretStr

from tests.support.customers import put_customer
from tests.support.outbox import put_card
from tests.support.tcp_proxy import Fault, tcp_proxy
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, World
from tillcrm.api import StoredValueOut, WalletAdd, WalletCardOut
from tillcrm.crm import CrmClient
from tillcrm.server.tables import stored_value_ledger, wallet_cards
from tillcrm.till import Offline, TillService

PROBE_SECONDS = 0.05
"""The facade's breaker asks the CRM again this long after a failure (the sync interval)."""


def _through(till: Till, url: str) -> TillService:
    settings = till.settings.model_copy(
        update={"sync": till.settings.sync.model_copy(update={"interval_seconds": PROBE_SECONDS})}
    )
    client = CrmClient(url, token=till.token, connect_timeout=2, read_timeout=10)
    till.clients.append(client)
    return TillService(till.db, till.context, settings, client)


def _count(till: Till, world: World, table: sa.Table, customer_id: UUID) -> int:
    with world.crm.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(table.c.customer_id == customer_id)
            ).scalar_one()
        )


async def test_a_load_whose_answer_was_lost_is_applied_once_on_retry(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Lou")
    put_card(loopback_world, customer_id, 5_000)
    await till.sync()
    async with tcp_proxy(loopback_world.crm.url) as proxy:
        service = _through(till, proxy.url)
        await service.login("brand-100", CASHIER_PIN)
        proxy.arm(b"POST /v1/customers/", Fault.DROP_ANSWER)

        lost = await service.load_stored_value(customer_id, 1_000)

        assert isinstance(lost, Offline)
        assert proxy.answered == [Fault.DROP_ANSWER]  # the CRM committed it
        await asyncio.sleep(PROBE_SECONDS * 2)
        retried = await service.load_stored_value(customer_id, 1_000)
        assert isinstance(retried, StoredValueOut)
        assert retried.balance == 6_000
        # The retry answered: a new load of the same amount is a new load.
        again = await service.load_stored_value(customer_id, 1_000)
        assert isinstance(again, StoredValueOut)
        assert again.balance == 7_000
    assert _count(till, loopback_world, stored_value_ledger, customer_id) == 2


async def test_a_wallet_card_whose_answer_was_lost_is_saved_once_on_retry(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Wal")
    await till.sync()
    card = WalletAdd(card_number=SecretStr("4111111111111111"), exp_month=12, exp_year=2031)
    async with tcp_proxy(loopback_world.crm.url) as proxy:
        service = _through(till, proxy.url)
        await service.login("brand-100", CASHIER_PIN)
        proxy.arm(b"POST /v1/customers/", Fault.DROP_ANSWER)

        lost = await service.add_wallet_card(customer_id, card)

        assert isinstance(lost, Offline)
        assert proxy.answered == [Fault.DROP_ANSWER]
        await asyncio.sleep(PROBE_SECONDS * 2)
        retried = await service.add_wallet_card(customer_id, card)
        assert isinstance(retried, WalletCardOut)
        assert retried.last4 == "1111"
    assert _count(till, loopback_world, wallet_cards, customer_id) == 1
