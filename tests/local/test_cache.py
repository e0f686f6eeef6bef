"""The customer cache: stored as pull delivers it, found every way a cashier looks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.support.till_db import assert_search_index_matches_the_customers
from tillcrm.api import AccountBalances, CustomerOut, PointsBalance
from tillcrm.domain import (
    CustomerProfile,
    Identifier,
    IdentifierKind,
    IdentifierStatus,
    InvalidPhoneError,
)
from tillcrm.local import STORED_VALUE, CustomerCache, TillDatabase, open_database, points_account
from tillcrm.local.db import _MIGRATIONS, _statements

READ_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def customer(
    *,
    cards: list[Identifier] | None = None,
    version: int = 1,
    customer_id: UUID | None = None,
    stored_value: int | None = None,
    **fields: Any,
) -> CustomerOut:
    return CustomerOut(
        id=customer_id or uuid4(),
        version=version,
        org_id="org-brand",
        brand_id="brand-a",
        profile=CustomerProfile.model_validate(fields),
        identifiers=cards or [],
        balances=AccountBalances(
            points=[PointsBalance(brand_id="brand-a", balance=120)],
            stored_value=stored_value,
            as_of=READ_AT,
        ),
        created_at=READ_AT - timedelta(days=30),
        updated_at=READ_AT,
    )


ANNA = customer(
    customer_number="C-1001",
    first_name="Anna",
    last_name="Smithson",
    company="Harbour Bistro",
    email="anna@example.com",
    mobile="+14155550123",
    cards=[Identifier(kind=IdentifierKind.BARCODE, value="LOY-0001")],
    stored_value=2500,
)
BOB = customer(
    customer_number="C-1002",
    first_name="Bob",
    last_name="Jones",
    mobile="+14155559123",
    phone="+14155550123",
    email="bob@example.org",
)
GONE = customer(
    customer_number="C-1003",
    first_name="Anne",
    last_name="Gone",
    mobile="+14155550999",
    cards=[Identifier(kind=IdentifierKind.BARCODE, value="LOY-0003")],
    flags={"active": False},
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    with database.write() as conn:
        CustomerCache.store(conn, [ANNA, BOB, GONE])
    yield database
    database.close()


@pytest.fixture
def cache(db: TillDatabase) -> CustomerCache:
    return CustomerCache(db, phone_region="US")


def ids(rows: list[Any]) -> set[UUID]:
    return {row.id for row in rows}


def test_a_stored_customer_reads_back_whole(cache: CustomerCache) -> None:
    assert cache.get(ANNA.id) == ANNA
    assert cache.by_number("C-1001") == ANNA
    assert cache.count() == 3


def test_identifier_lookup_finds_only_active_cards(db: TillDatabase, cache: CustomerCache) -> None:
    assert cache.by_identifier(IdentifierKind.BARCODE, "LOY-0001") == ANNA
    blocked = ANNA.model_copy(
        update={
            "version": 2,
            "identifiers": [
                Identifier(
                    kind=IdentifierKind.BARCODE, value="LOY-0001", status=IdentifierStatus.BLOCKED
                )
            ],
        }
    )
    with db.write() as conn:
        CustomerCache.store(conn, [blocked])
    assert cache.by_identifier(IdentifierKind.BARCODE, "LOY-0001") is None
    assert cache.get(ANNA.id) == blocked


def test_exact_phone_matches_mobile_and_landline_typed_any_way(cache: CustomerCache) -> None:
    assert ids(cache.by_phone("(415) 555-0123")) == {ANNA.id, BOB.id}
    assert ids(cache.by_phone("+1 415 555 9123")) == {BOB.id}
    with pytest.raises(InvalidPhoneError):
        cache.by_phone("12")


def test_last_digits_match_the_end_of_the_mobile(cache: CustomerCache) -> None:
    assert ids(cache.by_last_digits("0123")) == {ANNA.id}
    assert ids(cache.by_last_digits("123")) == {ANNA.id, BOB.id}
    assert ids(cache.by_last_digits("9999")) == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smiths", "ANNA"),
        ("ITHSO", "ANNA"),
        ("example.org", "BOB"),
        ("harbour", "ANNA"),
        ("1002", "BOB"),
        ("Anna Smith", "ANNA"),
        ("jo", "BOB"),  # too short for trigrams: a last-name prefix
        ("C-", "ANNA,BOB"),  # a customer-number prefix
    ],
)
def test_text_search_finds_names_email_company_and_number(
    cache: CustomerCache, text: str, expected: str
) -> None:
    wanted = {{"ANNA": ANNA, "BOB": BOB}[name].id for name in expected.split(",")}
    assert ids(cache.by_text(text)) == wanted


def test_inactive_customers_are_hidden_unless_asked(cache: CustomerCache) -> None:
    assert cache.by_text("Gone") == []
    assert ids(cache.by_text("Gone", include_inactive=True)) == {GONE.id}
    assert cache.by_number("C-1003") is None
    assert cache.get(GONE.id) == GONE
    assert cache.by_last_digits("0999") == []


def test_an_inactive_customers_card_still_identifies_them(cache: CustomerCache) -> None:
    assert cache.by_identifier(IdentifierKind.BARCODE, "LOY-0003") == GONE


def test_search_box_combines_phone_digits_and_text(cache: CustomerCache) -> None:
    assert ids(cache.search("415-555-0123")) == {ANNA.id, BOB.id}
    assert ids(cache.search("9123")) == {BOB.id}
    assert ids(cache.search("anna@")) == {ANNA.id}
    assert cache.search("  ") == []


def test_a_replaced_customer_is_found_only_by_the_new_values(
    db: TillDatabase, cache: CustomerCache
) -> None:
    renamed = BOB.model_copy(
        update={"version": 2, "profile": BOB.profile.model_copy(update={"last_name": "Keller"})}
    )
    with db.write() as conn:
        CustomerCache.store(conn, [renamed])
    assert cache.by_text("Jones") == []
    assert ids(cache.by_text("Keller")) == {BOB.id}
    assert cache.count() == 3
    assert_search_index_matches_the_customers(db)


def test_balances_keep_the_time_the_crm_read_them(cache: CustomerCache) -> None:
    points = cache.balance(ANNA.id, points_account("brand-a"))
    assert points is not None
    assert (points.balance, points.read_at) == (120, READ_AT)
    stored_value = cache.balance(ANNA.id, STORED_VALUE)
    assert stored_value is not None
    assert stored_value.balance == 2500
    assert cache.balance(BOB.id, STORED_VALUE) is None
    assert cache.search("Anna")[0].points == 120


def test_a_failed_page_leaves_the_cache_as_it_was(db: TillDatabase, cache: CustomerCache) -> None:
    def store_then_fail() -> None:
        with db.write() as conn:
            CustomerCache.store(conn, [customer(first_name="Zed", customer_number="C-9")])
            raise RuntimeError("the page's cursor could not be stored")

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert cache.by_text("Zed") == []
    assert cache.count() == 3


def test_a_schema_1_cache_is_migrated_and_still_found(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in _statements(_MIGRATIONS[0]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO customers VALUES (?, 'C-7', 'Vera', 'Oldtable', '', NULL, '+14155550177', "
        "'77105555141', NULL, 1, 0, 1, ?, '2026-01-01T00:00:00+00:00')",
        (str(ANNA.id), ANNA.model_dump_json()),
    )
    old.execute("INSERT INTO customer_search (rowid, customer_id) VALUES (9, ?)", (str(ANNA.id),))
    old.execute("INSERT INTO customer_text VALUES ('Vera Oldtable', '', '', 'C-7')")
    old.close()

    db = open_database(path)
    cache = CustomerCache(db)
    assert ids(cache.by_text("Oldtab")) == {ANNA.id}
    assert ids(cache.by_last_digits("0177")) == {ANNA.id}
    with db.write() as conn:
        CustomerCache.store(conn, [ANNA])
    assert cache.by_text("Oldtab") == []
    assert ids(cache.by_text("Smithson")) == {ANNA.id}
    assert_search_index_matches_the_customers(db)
    db.close()


def test_a_pulled_record_is_indexed_and_kept_as_the_crm_sent_it(
    db: TillDatabase, cache: CustomerCache
) -> None:
    sent = customer(
        customer_number="C-1004",
        first_name="Pia",
        last_name="Pulled",
        mobile="+14155550444",
        cards=[Identifier(kind=IdentifierKind.RFID, value="TAG-44")],
        stored_value=700,
    )
    record = sent.model_dump(mode="json")
    body = json.dumps({"customers": [record], "cursor": "1", "more": False}).encode()
    with db.write() as conn:
        assert CustomerCache.store_page(conn, CustomerCache.parse_page(body)) == 1
    [stored] = db.read("SELECT record FROM customers WHERE id = ?", (str(sent.id),))
    assert json.loads(stored[0]) == record
    assert cache.by_identifier(IdentifierKind.RFID, "TAG-44") == sent
    assert ids(cache.by_last_digits("0444")) == {sent.id}
    assert ids(cache.search("Pulled")) == {sent.id}
    balance = cache.balance(sent.id, STORED_VALUE)
    assert balance is not None
    assert (balance.balance, balance.read_at) == (700, READ_AT)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), "not-a-uuid"),
        (("version",), "two"),
        (("profile", "mobile"), "0123"),
        (("profile", "phone"), "555-0101"),
        (("profile", "last_name"), None),
        (("profile", "flags"), {"active": "maybe"}),
        (("identifiers",), [{"kind": "retina", "value": "X"}]),
        (("identifiers",), [{"kind": "rfid", "value": ""}]),
        (("identifiers",), [{"kind": "rfid", "value": "X" * 129}]),
        (("identifiers",), [{"kind": "rfid", "value": "X", "status": "lost"}]),
        (("balances", "as_of"), "yesterday"),
        (("balances", "points"), [{"brand_id": "brand-a", "balance": 1.5}]),
        (("balances", "stored_value"), "lots"),
    ],
)
def test_a_page_with_a_malformed_indexed_field_stores_nothing(
    db: TillDatabase, cache: CustomerCache, path: tuple[str, ...], value: object
) -> None:
    good = customer(customer_number="C-2001", first_name="Good", mobile="+14155552001")
    bad = customer(customer_number="C-2002", first_name="Bad").model_dump(mode="json")
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    page = {"customers": [good.model_dump(mode="json"), bad], "cursor": "2", "more": False}
    with pytest.raises(ValueError, match=path[-1]), db.write() as conn:
        CustomerCache.store_page(conn, CustomerCache.parse_page(json.dumps(page).encode()))
    assert cache.get(good.id) is None
    assert cache.by_text("Good") == []
    assert cache.count() == 3
