"""Customer scope over HTTP: out of scope is 404 (never 403) on every path that reads customers."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from tests.support.customers import put_customer
from tests.support.world import ORGS, World
from tillcrm.domain import IdentifierKind
from tillcrm.server.db import writing
from tillcrm.server.tables import customer_registrations, transactions


def put_transaction(world: World, customer_id: UUID, org: str, brand: str) -> UUID:
    """A completed sale of `customer_id` at brand `{org}-{brand}`'s store."""
    transaction_id = uuid4()
    with writing(world.crm.engine) as conn:
        conn.execute(
            transactions.insert().values(
                id=transaction_id,
                number=f"T-{transaction_id.hex[:10]}",
                customer_id=customer_id,
                org_id=ORGS[org].id,
                brand_id=f"{org}-{brand}",
                store_id=f"{org}-{brand}-store",
                till_id=_till_of(world, f"{org}.{brand}"),
                operator_id=f"{org}-cashier",
                at=datetime.now(UTC),
                currency="USD",
                total=1250,
                lines=[{"description": "Pint", "quantity": 1, "unit_price": 1250}],
                tenders=[{"kind": "cash", "amount": 1250}],
                points_earned=12,
                points_redeemed=0,
                op_id=uuid4(),
            )
        )
    return transaction_id


def _till_of(world: World, name: str) -> str:
    with world.client(name) as http:
        till_id: str = http.get("/tills/me").json()["till_id"]
    return till_id


def test_brand_scope_hides_another_brands_customer_on_every_path(world: World) -> None:
    customer = put_customer(
        world,
        "brand",
        "b",
        cards={IdentifierKind.BARCODE: "SCOPE-B-1"},
        first_name="Beatrix",
        last_name="Brandbee",
        mobile="+14155550171",
    )
    sale = put_transaction(world, customer, "brand", "b")
    with world.client("brand.a") as other, world.client("brand.b") as own:
        for http, seen in ((own, True), (other, False)):
            paths = [
                http.get("/identify", params={"kind": "barcode", "value": "SCOPE-B-1"}),
                http.get("/identify", params={"kind": "phone", "value": "(415) 555-0171"}),
                http.get(f"/customers/{customer}"),
                http.get(f"/customers/{customer}/history"),
                http.get(f"/transactions/{sale}"),
            ]
            for response in paths:
                assert response.status_code == (200 if seen else 404), response.url
                if not seen:
                    assert response.json()["code"] == "not_found"
            for q in ("brandbee", "0171", "+14155550171"):
                items = http.get("/customers", params={"q": q}).json()["items"]
                assert [item["id"] for item in items] == ([str(customer)] if seen else [])


def test_organization_scope_shares_one_account_across_brands(world: World) -> None:
    customer = put_customer(
        world, "pool", "a", cards={IdentifierKind.RFID: "04A1B2C3"}, first_name="Pooled"
    )
    put_transaction(world, customer, "pool", "a")
    for till in ("pool.a", "pool.b"):
        with world.client(till) as http:
            found = http.get("/identify", params={"kind": "rfid", "value": "04A1B2C3"})
            assert found.status_code == 200
            assert found.json()["customer"]["id"] == str(customer)
            assert http.get(f"/customers/{customer}").json()["id"] == str(customer)
            assert len(http.get(f"/customers/{customer}/history").json()["items"]) == 1
            assert http.get(f"/customers/{customer}/history").json()["items"][0]["total"] == 1250


def test_another_organizations_customer_is_not_found(world: World) -> None:
    customer = put_customer(world, "pool", "a", first_name="Elsewhere")
    with world.client("wallets.a") as http:
        assert http.get(f"/customers/{customer}").status_code == 404


def test_a_connected_child_sees_the_parents_customer_only_once_registered(world: World) -> None:
    customer = put_customer(
        world,
        "parent",
        "a",
        cards={IdentifierKind.BARCODE: "PARENT-1"},
        first_name="Conny",
        custom_fields={"color": "parent"},
    )
    with writing(world.crm.engine) as conn:
        conn.execute(
            customer_registrations.insert().values(
                customer_id=customer,
                org_id=ORGS["child1"].id,
                label="Season holder",
                status="gold",
                custom_fields={"seat": "12A", "color": "child"},
                registered_at=datetime.now(UTC),
            )
        )
    with world.client("child1.a") as child1, world.client("child2.a") as child2:
        seen = child1.get(f"/customers/{customer}")
        assert seen.status_code == 200
        assert seen.json()["label"] == "Season holder"
        assert seen.json()["status"] == "gold"
        assert seen.json()["profile"]["custom_fields"] == {"seat": "12A", "color": "parent"}
        by_card = child1.get("/identify", params={"kind": "barcode", "value": "PARENT-1"})
        assert by_card.json()["customer"]["id"] == str(customer)
        assert child2.get(f"/customers/{customer}").status_code == 404
        assert (
            child2.get("/identify", params={"kind": "barcode", "value": "PARENT-1"}).status_code
            == 404
        )
        assert child2.get("/customers", params={"q": "conny"}).json()["items"] == []
