"""Identify and search through the facade: the cache answers with the CRM down, a card the
cache lacks is found through the CRM (and cached), and every identification is a visit op."""

from __future__ import annotations

import uuid

from tests.support.crm_server import RunningCrm, serve_crm
from tests.support.customers import put_customer
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, World
from tillcrm.api import OpType
from tillcrm.crm import CrmClient
from tillcrm.domain import IdentifierKind
from tillcrm.local import OpState, Outbox
from tillcrm.sync import SyncEngine
from tillcrm.till import Ambiguous, Identification, NotFound, TillService


def _card() -> str:
    return f"CARD-{uuid.uuid4().hex[:10]}"


async def test_identify_from_the_cache_works_with_the_crm_stopped(
    till: Till, loopback_crm: RunningCrm, loopback_world: World
) -> None:
    card = _card()
    customer_id = put_customer(
        loopback_world, "brand", cards={IdentifierKind.BARCODE: card}, first_name="Ada"
    )
    with serve_crm(loopback_crm.db_url) as crm:
        client = CrmClient(crm.url, token=till.token, connect_timeout=2)
        till.clients.append(client)
        service = TillService(till.db, till.context, till.settings, client)
        await service.login("brand-100", CASHIER_PIN)
        await SyncEngine(till.db, client, till.settings.sync).pull_once()
    # That CRM is stopped now: nothing listens on its port.

    found = await service.identify(IdentifierKind.BARCODE, card)

    assert isinstance(found, Identification)
    assert found.source == "cache"
    assert found.customer.id == customer_id
    assert found.visit.op.type is OpType.VISIT
    assert found.visit.op.payload == {"method": "barcode"}
    assert [e.op.op_id for e in Outbox(till.db).entries(OpState.PENDING)] == [found.visit.op.op_id]
    assert isinstance(await service.identify(IdentifierKind.BARCODE, _card()), NotFound)
    assert not service.online
    again = await service.identify(IdentifierKind.BARCODE, card)
    assert isinstance(again, Identification)
    assert again.visit.queued


async def test_a_card_missing_from_the_cache_is_found_through_the_crm_and_cached(
    till: Till, loopback_world: World
) -> None:
    card = _card()
    customer_id = put_customer(
        loopback_world, "brand", cards={IdentifierKind.RFID: card}, first_name="Grace"
    )
    online = till.service()
    await online.login("brand-100", CASHIER_PIN)

    found = await online.identify(IdentifierKind.RFID, card)

    assert isinstance(found, Identification)
    assert (found.source, found.customer.id, found.visit.queued) == ("crm", customer_id, False)
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)
    again = await offline.identify(IdentifierKind.RFID, card)
    assert isinstance(again, Identification)
    assert again.source == "cache"
    assert again.visit.queued
    await till.sync()
    assert Outbox(till.db).depth() == 0


async def test_unknown_and_other_brands_cards_are_not_found(
    till: Till, loopback_world: World
) -> None:
    other = _card()
    put_customer(loopback_world, "brand", "b", cards={IdentifierKind.BARCODE: other})
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    assert isinstance(await service.identify(IdentifierKind.BARCODE, other), NotFound)
    down = till.service(down=True)
    await down.login("brand-100", CASHIER_PIN)
    missing = await down.identify(IdentifierKind.BARCODE, _card())
    assert isinstance(missing, NotFound)
    assert "cannot be reached" in missing.reason


async def test_typed_phone_and_number_identify_from_the_cache(
    till: Till, loopback_world: World
) -> None:
    number = f"N{uuid.uuid4().int % 10**9:09d}"
    mobile = f"+1202555{uuid.uuid4().int % 10**4:04d}"
    customer_id = put_customer(
        loopback_world, "brand", customer_number=number, mobile=mobile, first_name="Linus"
    )
    await till.sync()
    service = till.service(down=True)
    await service.login("brand-100", CASHIER_PIN)

    by_phone = await service.identify_typed(mobile[2:5] + " " + mobile[5:])
    by_number = await service.identify_typed(number)

    assert isinstance(by_phone, Identification | Ambiguous)
    if isinstance(by_phone, Identification):
        assert by_phone.customer.id == customer_id
    else:
        assert customer_id in {row.id for row in by_phone.candidates}
    assert isinstance(by_number, Identification)
    assert by_number.customer.id == customer_id
    assert by_number.visit.op.payload == {"method": None}
    assert customer_id in {row.id for row in await service.search("Linus")}


async def test_an_inactive_customers_card_identifies_them_with_the_crm_down(
    till: Till, loopback_world: World
) -> None:
    card = _card()
    customer_id = put_customer(
        loopback_world,
        "brand",
        cards={IdentifierKind.BARCODE: card},
        first_name="Ida",
        flags={"active": False},
    )
    online = till.service()
    await online.login("brand-100", CASHIER_PIN)
    seen_online = await online.identify(IdentifierKind.BARCODE, card)
    await till.sync()
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)

    found = await offline.identify(IdentifierKind.BARCODE, card)

    assert isinstance(seen_online, Identification)
    assert seen_online.customer.id == customer_id
    assert isinstance(found, Identification)
    assert (found.source, found.customer.id) == ("cache", customer_id)
    assert not found.customer.profile.flags.active
    assert found.visit.queued


async def test_an_inactive_customers_phone_identifies_them_with_the_crm_down(
    till: Till, loopback_world: World
) -> None:
    mobile = f"+1202556{uuid.uuid4().int % 10**4:04d}"
    customer_id = put_customer(
        loopback_world, "brand", mobile=mobile, first_name="Ines", flags={"active": False}
    )
    await till.sync()
    online = till.service()
    await online.login("brand-100", CASHIER_PIN)
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)

    seen_online = await online.identify_typed(mobile)
    found = await offline.identify_typed(mobile)

    assert isinstance(seen_online, Identification)
    assert seen_online.customer.id == customer_id
    assert isinstance(found, Identification)
    assert (found.source, found.customer.id) == ("cache", customer_id)
    assert not found.customer.profile.flags.active
