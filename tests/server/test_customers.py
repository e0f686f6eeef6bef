"""Customers over HTTP: identify, search, read, create, edit, history and receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import httpx
import sqlalchemy as sa

from tests.server.test_scope import put_transaction
from tests.support.customers import put_customer
from tests.support.world import World
from tillcrm.domain import IdentifierKind
from tillcrm.server.db import writing
from tillcrm.server.tables import (
    customer_registrations,
    customers,
    identifiers,
    points_accounts,
    stored_value_cards,
    transactions,
)

CASHIER = {"X-Operator-Id": "wallets-cashier"}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# -- identify -----------------------------------------------------------------------------------


def test_identify_by_card_and_by_phone_typed_any_way(world: World) -> None:
    customer = put_customer(
        world,
        "brand",
        cards={IdentifierKind.MAGSTRIPE: "6001234567", IdentifierKind.BARCODE: "ID-BAR-1"},
        first_name="Ida",
        mobile="+14155550111",
    )
    with world.client("brand.a") as http:
        by_card = http.get("/identify", params={"kind": "magstripe", "value": "6001234567"})
        by_phone = http.get("/identify", params={"kind": "phone", "value": "415-555-0111"})
    assert by_card.status_code == 200
    assert by_card.json()["kind"] == "magstripe"
    body = by_card.json()["customer"]
    assert body["id"] == str(customer)
    assert {(card["kind"], card["value"]) for card in body["identifiers"]} == {
        ("magstripe", "6001234567"),
        ("barcode", "ID-BAR-1"),
    }
    assert by_phone.json()["customer"]["id"] == str(customer)


def test_identify_by_a_phone_identifier_when_no_mobile_matches(world: World) -> None:
    customer = put_customer(
        world, "brand", cards={IdentifierKind.PHONE: "+14155550444"}, first_name="Landa"
    )
    with world.client("brand.a") as http:
        found = http.get("/identify", params={"kind": "phone", "value": "4155550444"})
    assert found.status_code == 200
    assert (found.json()["customer"]["id"], found.json()["kind"]) == (str(customer), "phone")


def test_identify_by_a_landline_when_no_mobile_or_phone_card_matches(world: World) -> None:
    landline = put_customer(world, "brand", phone="+14155550555", first_name="Lana")
    mobile = put_customer(world, "brand", mobile="+14155550666", first_name="Moby")
    put_customer(world, "brand", phone="+14155550666", first_name="Shared")
    with world.client("brand.a") as http:
        by_landline = http.get("/identify", params={"kind": "phone", "value": "415 555 0555"})
        mobile_first = http.get("/identify", params={"kind": "phone", "value": "4155550666"})
    with world.client("brand.b") as http:
        other_brand = http.get("/identify", params={"kind": "phone", "value": "4155550555"})
    assert by_landline.status_code == 200
    assert by_landline.json()["customer"]["id"] == str(landline)
    assert mobile_first.json()["customer"]["id"] == str(mobile)
    assert other_brand.status_code == 404


def test_a_blocked_card_is_410_blocked_and_an_unknown_one_404_not_found(world: World) -> None:
    customer = put_customer(world, "brand", cards={IdentifierKind.BARCODE: "LOST-1"})
    with writing(world.crm.engine) as conn:
        conn.execute(
            identifiers.update()
            .where(identifiers.c.customer_id == customer)
            .values(status="blocked")
        )
    with world.client("brand.a") as http:
        blocked = http.get("/identify", params={"kind": "barcode", "value": "LOST-1"})
        unknown = http.get("/identify", params={"kind": "barcode", "value": "NEVER-1"})
        bad_phone = http.get("/identify", params={"kind": "phone", "value": "12"})
    assert (blocked.status_code, blocked.json()["code"]) == (410, "blocked")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert bad_phone.status_code == 422
    assert bad_phone.json()["problems"][0]["field"] == "value"


# -- search -------------------------------------------------------------------------------------


def test_search_by_phone_exact_and_last_digits(world: World) -> None:
    near = put_customer(world, "units", mobile="+14155550193", first_name="Phoebe")
    other = put_customer(world, "units", mobile="+14155559193", first_name="Phil")
    with world.client("units.a") as http:
        assert ids(http.get("/customers", params={"q": "+1 415 555 0193"})) == [str(near)]
        assert ids(http.get("/customers", params={"q": "(415) 555-0193"})) == [str(near)]
        assert set(ids(http.get("/customers", params={"q": "9193"}))) == {str(other)}
        both = set(ids(http.get("/customers", params={"q": "0193"})))
    assert str(near) in both
    assert str(other) not in both


def test_last_digits_that_end_in_nine_still_match(world: World) -> None:
    nines = put_customer(world, "units", mobile="+14155551999")
    with world.client("units.b") as http:
        assert ids(http.get("/customers", params={"q": "1999"})) == [str(nines)]
        assert ids(http.get("/customers", params={"q": "5551999"})) == [str(nines)]


def test_search_by_name_email_and_customer_number_substring(world: World) -> None:
    customer = put_customer(
        world,
        "units",
        customer_number="UNITS-4711",
        first_name="Marguerite",
        last_name="Zylberstein",
        email="marg@example.com",
        company="Oddly Named Ltd",
    )
    with world.client("units.a") as http:
        for q in ("zylber", "GUERITE", "marg@exa", "UNITS-47", "oddly named", "  Zylberstein "):
            assert ids(http.get("/customers", params={"q": q})) == [str(customer)], q
        row = http.get("/customers", params={"q": "zylber"}).json()["items"][0]
    assert row["customer_number"] == "UNITS-4711"
    assert row["email"] == "marg@example.com"
    assert row["points"] == 0


def test_a_numeric_customer_number_is_found_like_a_phone_suffix(world: World) -> None:
    customer = put_customer(world, "units", customer_number="880077", first_name="Numa")
    with world.client("units.a") as http:
        assert ids(http.get("/customers", params={"q": "880077"})) == [str(customer)]


def test_inactive_customers_are_hidden_unless_asked_for(world: World) -> None:
    gone = put_customer(world, "units", first_name="Quiescent", flags={"active": False})
    here = put_customer(world, "units", first_name="Quiescent", last_name="Too")
    with world.client("units.a") as http:
        default = ids(http.get("/customers", params={"q": "quiescent"}))
        everyone = ids(http.get("/customers", params={"q": "quiescent", "inactive": "true"}))
    assert default == [str(here)]
    assert set(everyone) == {str(gone), str(here)}


def test_search_pages_through_every_match_once(world: World) -> None:
    made = {str(put_customer(world, "units", first_name=f"Pagella{i}")) for i in range(7)}
    seen: list[str] = []
    offset: int | None = 0
    with world.client("units.b") as http:
        while offset is not None:
            page = http.get("/customers", params={"q": "pagella", "limit": 3, "offset": offset})
            seen += ids(page)
            offset = page.json()["next_offset"]
    assert sorted(seen) == sorted(made)


def test_a_wildcard_in_the_query_is_taken_literally(world: World) -> None:
    put_customer(world, "units", first_name="Percival")
    with world.client("units.a") as http:
        assert ids(http.get("/customers", params={"q": "perc%"})) == []
        assert ids(http.get("/customers", params={"q": "p_rcival"})) == []


def test_a_query_with_a_quote_or_punctuation_is_a_plain_substring(world: World) -> None:
    odd = put_customer(world, "units", last_name='O"Quirke-Smythe', email="q.s+x@example.org")
    with world.client("units.a") as http:
        for q in ('o"quirke', "-smythe", "q.s+x@", "quirke-sm"):
            assert ids(http.get("/customers", params={"q": q})) == [str(odd)], q
        assert ids(http.get("/customers", params={"q": '"quirke"'})) == []


def test_a_text_shorter_than_a_trigram_matches_the_start_of_the_customer_number(
    world: World,
) -> None:
    numbered = put_customer(world, "units", customer_number="QX-1", first_name="Shorty")
    put_customer(world, "units", customer_number="XQ-2", first_name="Qxavier")
    with world.client("units.a") as http:
        assert ids(http.get("/customers", params={"q": "QX"})) == [str(numbered)]
        assert ids(http.get("/customers", params={"q": "qx"})) == [str(numbered)]
        assert ids(http.get("/customers", params={"q": "Q"})) == [str(numbered)]


def test_search_follows_a_renamed_customer_and_forgets_a_deleted_one(world: World) -> None:
    renamed = put_customer(world, "units", first_name="Oldenburg")
    deleted = put_customer(world, "units", first_name="Vanishka")
    with world.client("units.a") as http:
        patched = http.patch(
            f"/customers/{renamed}",
            json={"base_version": 1, "changes": {"first_name": "Newcastle"}},
            headers={"X-Operator-Id": "units-cashier"},
        )
        assert patched.status_code == 200, patched.text
        with writing(world.crm.engine) as conn:
            for table in (customer_registrations, customers):
                key = table.c.customer_id if table is customer_registrations else table.c.id
                conn.execute(table.delete().where(key == deleted))
        assert ids(http.get("/customers", params={"q": "newcastle"})) == [str(renamed)]
        assert ids(http.get("/customers", params={"q": "oldenburg"})) == []
        assert ids(http.get("/customers", params={"q": "vanishka"})) == []
    if world.crm.engine.dialect.name == "sqlite":  # the FTS index itself, not just the join
        with world.crm.engine.connect() as conn:
            stale = conn.exec_driver_sql(
                "SELECT count(*) FROM customers_search"
                ' WHERE customers_search MATCH \'"oldenburg" OR "vanishka"\''
            ).scalar_one()
        assert stale == 0


# -- the customer record ------------------------------------------------------------------------


def test_a_customer_carries_balances_per_points_policy(world: World) -> None:
    customer = put_customer(world, "wallets", first_name="Wanda")
    with writing(world.crm.engine) as conn:
        conn.execute(
            points_accounts.insert(),
            [
                {"customer_id": customer, "account": "wallets-a", "balance": 120},
                {"customer_id": customer, "account": "wallets-b", "balance": 45},
            ],
        )
        conn.execute(
            stored_value_cards.insert().values(
                customer_id=customer,
                card_number="7000111122223333",
                currency="USD",
                balance=5000,
                reset_after_event=True,
            )
        )
        conn.execute(
            customers.update().where(customers.c.id == customer).values(store_credit_owed=300)
        )
    with world.client("wallets.b") as http:
        body = http.get(f"/customers/{customer}").json()
        summary = http.get("/customers", params={"q": "wanda"}).json()["items"][0]
    balances = body["balances"]
    assert balances["points"] == [
        {"brand_id": "wallets-b", "balance": 45},
        {"brand_id": "wallets-a", "balance": 120},
    ]
    assert balances["stored_value"] == 5000
    assert balances["store_credit_owed"] == 300
    assert datetime.fromisoformat(balances["as_of"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert summary["points"] == 45


def test_shared_pool_shows_the_one_pool_and_brand_scope_the_brands_account(world: World) -> None:
    pooled = put_customer(world, "pool", first_name="Poppy")
    branded = put_customer(world, "brand", first_name="Bran")
    with writing(world.crm.engine) as conn:
        conn.execute(
            points_accounts.insert(),
            [
                {"customer_id": pooled, "account": "", "balance": 70},
                {"customer_id": branded, "account": "brand-a", "balance": 9},
            ],
        )
    with world.client("pool.b") as pool, world.client("brand.a") as brand:
        assert pool.get(f"/customers/{pooled}").json()["balances"]["points"] == [
            {"brand_id": None, "balance": 70}
        ]
        assert brand.get(f"/customers/{branded}").json()["balances"]["points"] == [
            {"brand_id": "brand-a", "balance": 9}
        ]


def test_unknown_customer_is_404(world: World) -> None:
    with world.client("brand.a") as http:
        response = http.get(f"/customers/{uuid4()}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_create_then_read_and_search(world: World) -> None:
    key = uuid4()
    body = {"profile": {"first_name": "Newton", "last_name": "Fresh", "mobile": "+14155550222"}}
    with world.client("wallets.a") as http:
        created = http.post(
            "/customers", json=body, headers={**CASHIER, "Idempotency-Key": str(key)}
        )
        again = http.post("/customers", json=body, headers={**CASHIER, "Idempotency-Key": str(key)})
        assert created.status_code == 201, created.text
        customer = created.json()
        assert customer["profile"]["customer_number"]
        assert customer["version"] == 1
        assert again.json()["id"] == customer["id"]
        assert ids(http.get("/customers", params={"q": "0222"})) == [customer["id"]]
        assert http.get(f"/customers/{customer['id']}").json()["profile"]["last_name"] == "Fresh"
    with world.crm.engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(customers.c.id == UUID(customer["id"]))
        ).scalar_one()
    assert count == 1


def test_patch_applies_and_a_stale_version_is_409_with_the_current_customer(
    world: World,
) -> None:
    customer = put_customer(world, "wallets", first_name="Patty")
    with world.client("wallets.a") as http:
        first = http.patch(
            f"/customers/{customer}",
            json={"base_version": 1, "changes": {"last_name": "First"}},
            headers=CASHIER,
        )
        stale = http.patch(
            f"/customers/{customer}",
            json={"base_version": 1, "changes": {"last_name": "Second"}},
            headers=CASHIER,
        )
        now = http.get(f"/customers/{customer}").json()
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    assert first.json()["profile"]["last_name"] == "First"
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"
    assert stale.json()["current"]["version"] == 2
    assert now["profile"]["last_name"] == "First"


def test_patch_of_a_customer_out_of_scope_is_404(world: World) -> None:
    customer = put_customer(world, "brand", "b", first_name="Hidden")
    with world.client("brand.a") as http:
        response = http.patch(
            f"/customers/{customer}",
            json={"base_version": 1, "changes": {"last_name": "X"}},
            headers={"X-Operator-Id": "brand-cashier"},
        )
    assert response.status_code == 404


# -- history and receipts -----------------------------------------------------------------------


def test_history_is_newest_first_paged_and_filtered_by_date(world: World) -> None:
    customer = put_customer(world, "units", first_name="Hist")
    made = [put_transaction(world, customer, "units", "a") for _ in range(5)]
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with writing(world.crm.engine) as conn:
        for day, transaction_id in enumerate(made):
            conn.execute(
                transactions.update()
                .where(transactions.c.id == transaction_id)
                .values(at=base + timedelta(days=day))
            )
    seen: list[str] = []
    offset: int | None = 0
    with world.client("units.b") as http:
        while offset is not None:
            page = http.get(f"/customers/{customer}/history", params={"limit": 2, "offset": offset})
            seen += ids(page)
            offset = page.json()["next_offset"]
        window = http.get(
            f"/customers/{customer}/history",
            params={
                "from": (base + timedelta(days=1)).isoformat(),
                "to": (base + timedelta(days=3))
                .astimezone(timezone(timedelta(hours=2)))
                .isoformat(),
            },
        )
    assert seen == [str(t) for t in reversed(made)]
    assert ids(window) == [str(made[2]), str(made[1])]
    row = window.json()["items"][0]
    assert (row["store_name"], row["till_name"]) == ("units a", "units.a")


def test_a_tills_context_names_every_brand_of_its_organization(world: World) -> None:
    with world.client("units.b") as http:
        context = http.get("/tills/me").json()
    assert [(b["id"], b["name"]) for b in context["brands"]] == [("units-a", "a"), ("units-b", "b")]


def test_a_receipt_has_lines_tenders_points_store_till_and_operator(world: World) -> None:
    customer = put_customer(world, "units", first_name="Rita", flags={"go_green": True})
    sale = put_transaction(world, customer, "units", "a")
    with world.client("units.a") as http:
        response = http.get(f"/transactions/{sale}")
        unknown = http.get(f"/transactions/{uuid4()}")
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["lines"] == [{"description": "Pint", "quantity": 1, "unit_price": 1250}]
    assert receipt["tenders"] == [{"kind": "cash", "amount": 1250}]
    assert (receipt["total"], receipt["points_earned"]) == (1250, 12)
    assert receipt["store"]["id"] == "units-a-store"
    assert receipt["till_name"] == "units.a"
    assert (receipt["operator_id"], receipt["operator_name"]) == ("units-cashier", "Cass Hier")
    assert receipt["go_green"] is True
    assert unknown.status_code == 404
