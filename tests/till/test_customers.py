"""Customers created and edited on the till, offline too; edit conflicts show both versions;
a rejected op waits in the dead-letter list until a compensating op makes it good."""

from __future__ import annotations

import uuid

from tests.support.customers import put_customer
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, SUPERVISOR_PIN, World
from tillcrm.api import CustomerOut, SaleLineTender
from tillcrm.domain import (
    AuthorizedUser,
    CustomerProfile,
    Identifier,
    IdentifierKind,
    TenderKind,
    TransactionLine,
)
from tillcrm.local import CustomerCache, OpState, Outbox
from tillcrm.till import Declined, EditConflict, Identification, Saved


async def test_a_customer_created_offline_is_usable_at_once_and_reaches_the_crm(
    till: Till, loopback_world: World
) -> None:
    card = f"NEW-{uuid.uuid4().hex[:8]}"
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)

    saved = offline.create_customer(
        CustomerProfile(first_name="Nova", last_name="Offline"),
        [Identifier(kind=IdentifierKind.BARCODE, value=card)],
    )

    assert isinstance(saved, Saved)
    assert saved.queued
    customer_id = saved.op.entity_id
    assert customer_id.version == 7  # uuid7: made on the till
    found = await offline.identify(IdentifierKind.BARCODE, card)
    assert isinstance(found, Identification)
    assert found.customer.id == customer_id
    again = offline.create_customer(
        CustomerProfile(first_name="Copy"), [Identifier(kind=IdentifierKind.BARCODE, value=card)]
    )
    assert isinstance(again, Declined)

    await till.sync()
    assert Outbox(till.db).depth() == 0
    with loopback_world.client("brand.a") as http:
        crm = CustomerOut.model_validate(http.get(f"/customers/{customer_id}").json())
    assert crm.profile.first_name == "Nova"


async def test_an_edit_against_an_old_version_shows_both_versions(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Ida", comments="quiet")
    await till.sync()
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    opened = service.cached_profile(customer_id)
    assert opened is not None
    with loopback_world.client("brand.a") as http:
        response = http.patch(
            f"/customers/{customer_id}",
            json={"base_version": opened.version, "changes": {"comments": "likes the window"}},
            headers={"X-Operator-Id": "brand-cashier"},
        )
        response.raise_for_status()

    answer = await service.edit_customer(customer_id, {"comments": "loud"}, opened.version)

    assert isinstance(answer, EditConflict)
    assert answer.mine == {"comments": "loud"}
    assert answer.base_version == opened.version
    assert answer.theirs.version == opened.version + 1
    assert answer.theirs.profile.comments == "likes the window"
    assert Outbox(till.db).depth() == 0


async def test_a_rejected_edit_is_a_dead_letter_until_a_compensating_op_fixes_it(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Rex", comments="")
    await till.sync()
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)
    opened = offline.cached_profile(customer_id)
    assert opened is not None
    saved = await offline.edit_customer(customer_id, {"comments": "offline note"}, opened.version)
    assert isinstance(saved, Saved)
    assert saved.queued
    with loopback_world.client("brand.a") as http:
        http.patch(
            f"/customers/{customer_id}",
            json={"base_version": opened.version, "changes": {"last_name": "Online"}},
            headers={"X-Operator-Id": "brand-super"},
        ).raise_for_status()

    await till.sync()

    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    (dead,) = service.dead_letters()
    assert isinstance(service.compensate(dead), Declined)
    await service.login("brand-900", SUPERVISOR_PIN)
    assert dead.op.op_id == saved.op.op_id
    assert "changed" in dead.last_error
    conflict = service.conflict_of(dead)
    assert conflict is not None
    assert conflict.mine == {"comments": "offline note"}
    assert conflict.theirs.profile.last_name == "Online"

    fix = service.compensate(dead, base_version=conflict.theirs.version)

    assert isinstance(fix, Saved)
    assert fix.op.op_id != dead.op.op_id
    assert service.dead_letters() == []
    assert [e.op.op_id for e in Outbox(till.db).entries(OpState.DEAD)] == [dead.op.op_id]
    await till.sync()
    assert Outbox(till.db).depth() == 0
    with loopback_world.client("brand.a") as http:
        crm = CustomerOut.model_validate(http.get(f"/customers/{customer_id}").json())
    assert (crm.profile.comments, crm.profile.last_name) == ("offline note", "Online")


async def test_an_edit_of_a_version_the_form_did_not_show_is_a_conflict(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Tom")
    await till.sync()
    service = till.service(down=True)
    await service.login("brand-100", CASHIER_PIN)

    answer = await service.edit_customer(customer_id, {"comments": "x"}, base_version=99)

    assert isinstance(answer, EditConflict)
    assert answer.theirs.id == customer_id
    assert isinstance(
        await service.edit_customer(customer_id, {"shoe_size": "9"}, base_version=1), Declined
    )
    assert Outbox(till.db).depth() == 0


async def test_store_credit_by_an_authorized_user_needs_allow_invoicing(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(
        loopback_world, "brand", first_name="Boss", store_credit_limit=10_000
    )
    await till.sync()
    service = till.service(down=True)
    await service.login("brand-100", CASHIER_PIN)
    clerk = AuthorizedUser(id=uuid.uuid4(), first_name="Clerk", allow_invoicing=False)
    buyer = AuthorizedUser(id=uuid.uuid4(), first_name="Buyer", allow_invoicing=True)
    assert isinstance(service.add_authorized_user(customer_id, clerk), Saved)
    assert isinstance(service.add_authorized_user(customer_id, buyer), Saved)
    lines = [TransactionLine(description="Lunch", unit_price=2_000)]
    tenders = [SaleLineTender(kind=TenderKind.STORE_CREDIT, amount=2_000)]

    refused = await service.sale(customer_id, lines, tenders, authorized_user_id=clerk.id)
    charged = await service.sale(customer_id, lines, tenders, authorized_user_id=buyer.id)

    assert isinstance(refused, Declined)
    assert "may not charge" in refused.reason
    assert isinstance(charged, Saved)
    assert isinstance(service.remove_authorized_user(customer_id, clerk.id), Saved)
    await till.sync()
    assert Outbox(till.db).count(OpState.ACKED) == 4
    with loopback_world.client("brand.a") as http:
        users = http.get(f"/customers/{customer_id}/authorized-users").json()
        credit = http.get(f"/customers/{customer_id}/store-credit").json()
    assert [u["first_name"] for u in users] == ["Buyer"]
    assert credit["owed"] == 2_000


async def test_a_new_mobile_number_replaces_the_old_one_as_identifier(
    till: Till, loopback_world: World
) -> None:
    old, new = "+14155550181", "+14155550182"
    customer_id = put_customer(
        loopback_world, "brand", first_name="Moe", mobile=old, cards={IdentifierKind.PHONE: old}
    )
    await till.sync()
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)
    opened = offline.cached_profile(customer_id)
    assert opened is not None

    saved = await offline.edit_customer(customer_id, {"mobile": new}, opened.version)

    assert isinstance(saved, Saved)
    cache = CustomerCache(till.db)
    assert cache.by_identifier(IdentifierKind.PHONE, old) is None
    moved = cache.by_identifier(IdentifierKind.PHONE, new)
    assert moved is not None
    assert moved.id == customer_id
    # The old number is free again: another customer may take it.
    taken = offline.create_customer(
        CustomerProfile(first_name="Next"), [Identifier(kind=IdentifierKind.PHONE, value=old)]
    )
    assert isinstance(taken, Saved)

    await till.sync()
    assert Outbox(till.db).count(OpState.DEAD) == 0
    with loopback_world.client("brand.a") as http:
        by_old = http.get("/identify", params={"kind": "phone", "value": old}).json()
        by_new = http.get("/identify", params={"kind": "phone", "value": new}).json()
    assert by_old["customer"]["id"] == str(taken.op.entity_id)
    assert by_new["customer"]["id"] == str(customer_id)
    assert {(c["kind"], c["value"]) for c in by_new["customer"]["identifiers"]} == {("phone", new)}
