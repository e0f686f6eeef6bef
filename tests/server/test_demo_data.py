"""The demo data: deterministic from its seed, complete, and consistent with the CRM's rules
(balances equal their ledgers, cards valid and unique, profiles valid), on every database kind."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from stdnum import ean

from tests.support.crm_server import database_kinds, fresh_database, serve_crm
from tillcrm.cli.crm import KNOWN_DEMO_CUSTOMERS
from tillcrm.domain import (
    CustomerProfile,
    IdentifierKind,
    Tender,
    TransactionLine,
    normalize_phone,
)
from tillcrm.server import admin
from tillcrm.server import demo_data as demo
from tillcrm.server.db import create_db_engine, writing
from tillcrm.server.migrate import upgrade
from tillcrm.server.tables import (
    authorized_users,
    counters,
    customers,
    identifiers,
    operators,
    points_accounts,
    points_ledger,
    store_credit_ledger,
    stored_value_cards,
    stored_value_ledger,
    stores,
    suites,
    transactions,
)

NOW = datetime(2026, 3, 14, 18, 30, tzinfo=UTC)
CUSTOMERS = 2_500


def _engine(url: str) -> Engine:
    upgrade(url)
    return create_db_engine(url)


@pytest.fixture(scope="module", params=database_kinds())
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, demo.DemoSummary]]:
    """A database holding the demo data for `CUSTOMERS` customers, written in three chunks."""
    with fresh_database(request.param, tmp_path_factory.mktemp("demo")) as url:
        engine = _engine(url)
        summary = demo.load_demo_data(
            engine, customers_count=CUSTOMERS, seed=7, now=NOW, chunk_size=1_000, workers=0
        )
        yield engine, summary
        engine.dispose()


def _rows(engine: Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [row._asdict() for row in conn.execute(sa.select(table))]


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every customer-related row, sorted, for comparing two loads."""
    tables = [
        customers,
        identifiers,
        points_accounts,
        points_ledger,
        stored_value_cards,
        stored_value_ledger,
        store_credit_ledger,
        authorized_users,
        suites,
        transactions,
    ]
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(sa.select(table))), key=str
            )
            for table in tables
        }


def test_the_same_seed_gives_the_same_data_however_it_is_chunked(tmp_path: Path) -> None:
    dumps = []
    for name, chunk_size, workers in (("one", 25_000, 0), ("many", 1_000, 2)):
        engine = _engine(f"sqlite:///{tmp_path / name}.sqlite3")
        demo.load_demo_data(
            engine,
            customers_count=CUSTOMERS,
            seed=3,
            now=NOW,
            chunk_size=chunk_size,
            workers=workers,
        )
        dumps.append(_dump(engine))
        engine.dispose()
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["customers"]) == CUSTOMERS


def test_another_seed_gives_other_customers(tmp_path: Path) -> None:
    names = []
    for seed in (1, 2):
        engine = _engine(f"sqlite:///{tmp_path / str(seed)}.sqlite3")
        demo.load_demo_data(engine, customers_count=100, seed=seed, now=NOW)
        with engine.connect() as conn:
            names.append(
                conn.execute(
                    sa.select(customers.c.id, customers.c.first_name, customers.c.last_name)
                    .where(customers.c.customer_number > f"C{len(demo.DEMO_CUSTOMERS):08d}")
                    .order_by(customers.c.customer_number)
                ).all()
            )
        engine.dispose()
    assert names[0] != names[1]
    assert {row.id for row in names[0]}.isdisjoint(row.id for row in names[1])


def test_counts_match_the_summary_and_the_counters(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    engine, summary = loaded
    with engine.connect() as conn:

        def count(table: sa.Table) -> int:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

        assert count(customers) == summary.customers == CUSTOMERS
        assert count(identifiers) == summary.identifiers
        assert count(transactions) == summary.transactions > 0
        assert count(points_ledger) == summary.points_ledger > 0
        assert count(stored_value_cards) == summary.stored_value_cards > 0
        assert count(authorized_users) == summary.authorized_users > 0
        assert count(suites) == summary.suites > 0
        assert count(stores) == sum(len(org.brands) for org in demo.DEMO_ORGS)
        assert count(operators) == 2 * sum(o.org.parent_id is None for o in demo.DEMO_ORGS)
        values = {row.name: row.value for row in conn.execute(sa.select(counters))}
    assert values["customer_number"] == CUSTOMERS
    assert values["changes"] == CUSTOMERS
    assert values["transaction_number"] == summary.transactions


def test_every_organization_framework_has_customers(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    engine, _ = loaded
    owners = Counter((row["org_id"], row["brand_id"]) for row in _rows(engine, customers))
    for org in demo.DEMO_ORGS:
        if org.org.parent_id is not None:
            continue  # connected children see the parent's customers registered with them
        if org.org.customer_scope == "brand" and org.org.kind == "standard":
            assert all(owners[(org.org.id, brand.id)] > 0 for brand in org.brands)
        else:
            assert owners[(org.org.id, None)] > 0


def test_profiles_are_valid_and_varied(loaded: tuple[Engine, demo.DemoSummary]) -> None:
    engine, _ = loaded
    rows = _rows(engine, customers)
    profiles = [CustomerProfile.model_validate(row["profile"]) for row in rows]
    assert len({p.customer_number for p in profiles}) == len(profiles)
    for row, profile in zip(rows, profiles, strict=True):
        assert row["customer_number"] == profile.customer_number
        assert row["active"] == profile.flags.active
        if profile.mobile:
            assert normalize_phone(profile.mobile) == profile.mobile
    flags = Counter(
        name
        for p in profiles
        for name, on in (
            ("inactive", not p.flags.active),
            ("vip", p.flags.vip),
            ("go_green", p.flags.go_green),
            ("tagged", bool(p.tags)),
            ("house account", p.store_credit_limit > 0),
            ("transaction limit", p.transaction_limit is not None),
            ("email", p.email is not None),
        )
        if on
    )
    assert all(flags[name] > 0 for name in flags)
    assert len(flags) == 7
    mobiles = [p.mobile for p in profiles if p.mobile]
    assert len(set(mobiles)) == len(mobiles)


def test_identifiers_are_valid_and_each_names_one_customer(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    engine, _ = loaded
    cards = _rows(engine, identifiers)
    kinds = Counter(card["kind"] for card in cards)
    assert set(kinds) == {kind.value for kind in IdentifierKind}
    assert len({card["value"] for card in cards}) == len(cards)
    for card in cards:
        value = card["value"]
        if card["kind"] == IdentifierKind.BARCODE:
            assert ean.is_valid(value), value
            assert len(value) == 13
        elif card["kind"] == IdentifierKind.RFID:
            assert len(value) == 10
            assert value == value.upper()
            int(value, 16)
        elif card["kind"] == IdentifierKind.MAGSTRIPE:
            assert value.isdigit()
    assert {card["status"] for card in cards} == {"active", "blocked"}
    with_barcode = {c["customer_id"] for c in cards if c["kind"] == "barcode"}
    assert len(with_barcode) == CUSTOMERS


def test_balances_equal_their_ledgers(loaded: tuple[Engine, demo.DemoSummary]) -> None:
    engine, _ = loaded
    points: defaultdict[tuple[Any, str], int] = defaultdict(int)
    for entry in _rows(engine, points_ledger):
        points[(entry["customer_id"], entry["account"])] += entry["delta"]
    accounts = {
        (a["customer_id"], a["account"]): a["balance"] for a in _rows(engine, points_accounts)
    }
    assert accounts == dict(points)
    value: defaultdict[Any, int] = defaultdict(int)
    for entry in _rows(engine, stored_value_ledger):
        value[entry["customer_id"]] += entry["delta"]
    cards = {c["customer_id"]: c["balance"] for c in _rows(engine, stored_value_cards)}
    assert cards == dict(value)
    assert all(balance >= 0 for balance in cards.values())
    credit: defaultdict[Any, int] = defaultdict(int)
    for entry in _rows(engine, store_credit_ledger):
        credit[entry["customer_id"]] += entry["delta"]
    owed = {c["id"]: c["store_credit_owed"] for c in _rows(engine, customers)}
    assert {k: v for k, v in owed.items() if v} == dict(credit)
    assert credit


def test_sales_are_receipts_that_add_up(loaded: tuple[Engine, demo.DemoSummary]) -> None:
    engine, _ = loaded
    sales = _rows(engine, transactions)
    assert len({sale["number"] for sale in sales}) == len(sales)
    for sale in sales:
        lines = [TransactionLine.model_validate(line) for line in sale["lines"]]
        tenders = [Tender.model_validate(tender) for tender in sale["tenders"]]
        assert sum(line.total for line in lines) == sale["total"]
        assert sum(tender.amount for tender in tenders) == sale["total"]
    newest = max(sale["at"] for sale in sales)
    assert newest.replace(tzinfo=UTC) <= NOW


def test_the_well_known_customers_have_their_documented_cards(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    engine, _ = loaded
    owner = {(c["kind"], c["value"]): c for c in _rows(engine, identifiers)}
    for known in demo.DEMO_CUSTOMERS:
        for kind, value in (
            ("barcode", known.barcode),
            ("magstripe", known.magstripe),
            ("rfid", known.rfid),
            ("phone", known.mobile),
        ):
            card = owner[(kind, value)]
            assert card["customer_id"] == known.id
            assert card["org_id"] == known.org_id
            assert card["status"] == "active"
    blocked = owner[("barcode", demo.DEMO_BLOCKED_BARCODE)]
    assert blocked["status"] == "blocked"
    assert blocked["customer_id"] == demo.DEMO_CUSTOMERS[0].id
    assert ean.is_valid(demo.DEMO_BARCODE)
    by_id = {c["id"]: c for c in _rows(engine, customers)}
    maya = by_id[demo.DEMO_CUSTOMERS[0].id]
    assert maya["brand_id"] == "demo-arena"
    assert maya["mobile"] == demo.DEMO_PHONE
    assert "VIP" in maya["profile"]["tags"]
    assert not by_id[demo.DEMO_CUSTOMERS[3].id]["active"]


def test_loading_twice_is_refused(loaded: tuple[Engine, demo.DemoSummary]) -> None:
    engine, _ = loaded
    with pytest.raises(demo.DemoAlreadyLoadedError):
        demo.load_demo_data(engine, customers_count=len(demo.DEMO_CUSTOMERS), now=NOW)


@contextmanager
def _demo_till(engine: Engine, store_id: str = demo.DEMO_STORE_ID) -> Iterator[httpx.Client]:
    """A CRM served on the loaded database, and a client enrolled at a demo store."""
    with serve_crm(engine.url.render_as_string(hide_password=False)) as crm:
        with writing(crm.engine) as conn:
            code = admin.issue_enrollment_code(conn, store_id)
        with crm.client() as http:
            token = http.post("/tills/enroll", json={"code": code}).json()["token"]
        with crm.client(token) as http:
            yield http


def test_search_finds_loaded_customers_and_customers_added_after_the_load(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    """The load indexes its customers for search in one go at the end (SQLite): the index
    must hold every loaded customer, and index the ones added later as before."""
    engine, _ = loaded
    with engine.connect() as conn:
        names = conn.execute(
            sa.select(customers.c.last_name)
            .where(customers.c.brand_id == "demo-arena", customers.c.active.is_(True))
            .distinct()
            .order_by(customers.c.last_name)
            .limit(3)
        ).scalars()
        expected = {
            name: set(
                conn.execute(
                    sa.select(customers.c.id).where(
                        customers.c.brand_id == "demo-arena",
                        customers.c.active.is_(True),
                        customers.c.search_text.contains(name.lower()[1:]),
                    )
                ).scalars()
            )
            for name in names
        }
    with _demo_till(engine) as http:

        def found(q: str) -> set[UUID]:
            page = http.get("/customers", params={"q": q, "limit": 200}).json()
            assert page["next_offset"] is None
            return {UUID(item["id"]) for item in page["items"]}

        for name, ids in expected.items():
            assert found(name[1:]) == ids != set()
        created = http.post(
            "/customers",
            json={"profile": {"first_name": "Quentin", "last_name": "Zyxwvut"}},
            headers={"X-Operator-Id": f"{demo.DEMO_ORGS[0].org.id}-cashier"},
        )
        assert created.status_code == 201, created.text
        assert found("yxwvu") == {UUID(created.json()["id"])}


def test_a_demo_till_identifies_the_demo_cards_through_the_api(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    engine, _ = loaded
    with engine.connect() as conn:
        arena_cards = conn.execute(
            sa.select(identifiers.c.kind, identifiers.c.value, identifiers.c.customer_id)
            .join(customers, customers.c.id == identifiers.c.customer_id)
            .where(customers.c.brand_id == "demo-arena", identifiers.c.status == "active")
            .order_by(identifiers.c.value)
            .limit(40)
        ).all()
    with _demo_till(engine) as http:

        def identify(kind: str, value: str) -> httpx.Response:
            return http.get("/identify", params={"kind": kind, "value": value})

        maya = demo.DEMO_CUSTOMERS[0]
        for kind, value in (
            ("barcode", demo.DEMO_BARCODE),
            ("magstripe", demo.DEMO_MAGSTRIPE),
            ("rfid", demo.DEMO_RFID),
            ("phone", demo.DEMO_PHONE),
        ):
            answer = identify(kind, value)
            assert answer.status_code == 200, answer.text
            assert answer.json()["customer"]["id"] == str(maya.id)
        assert identify("barcode", demo.DEMO_BLOCKED_BARCODE).json()["code"] == "blocked"
        assert identify("barcode", demo.DEMO_CUSTOMERS[4].barcode).status_code == 404
        found = {
            (card.kind, card.value): identify(card.kind, card.value).json()["customer"]["id"]
            for card in arena_cards
        }
        assert found == {(c.kind, c.value): str(c.customer_id) for c in arena_cards}
        history = http.get(f"/customers/{maya.id}/history").json()["items"]
        assert history
        receipt = http.get(f"/transactions/{history[0]['id']}")
        assert receipt.status_code == 200, receipt.text
        assert receipt.json()["till_name"] == "Till 1"


def test_a_lakeside_club_till_sees_shared_and_its_own_fields_and_the_parents_settings(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    engine, _ = loaded
    east, west = demo.DEMO_ORGS[5:7]
    ella = demo.DEMO_CUSTOMERS[7]
    assert ella.registered_at == (east.org.id,)
    with _demo_till(engine, east.store_id(east.brands[0])) as http:
        context = http.get("/tills/me").json()
        answer = http.get("/identify", params={"kind": "barcode", "value": ella.barcode})
    with _demo_till(engine, west.store_id(west.brands[0])) as http:
        at_west = http.get("/identify", params={"kind": "barcode", "value": ella.barcode})
    assert (at_west.status_code, at_west.json()["code"]) == (404, "registered_at_parent")
    assert [(f["name"], f["kind"]) for f in context["fields"]] == [
        ("home_club", "custom"),
        ("member_since", "extended"),
        ("locker", "custom"),
    ]
    assert context["settings"] == {
        "receipt_footer": "One Lakeside membership, every club.",
        "guest_passes_per_visit": "2",
    }
    assert answer.status_code == 200, answer.text
    seen = answer.json()["customer"]
    assert seen["profile"]["custom_fields"] == {
        "home_club": "Lakeside West Club",
        "member_since": "2017",
        "locker": "E-008",
    }
    assert seen["label"] == "Member"
    with engine.connect() as conn:
        lakeside = conn.execute(
            sa.select(customers.c.profile).where(customers.c.org_id == "demo-lakeside")
        ).scalars()
        shared = {tuple(sorted(profile["custom_fields"])) for profile in lakeside}
    assert shared == {("home_club", "member_since")}


def test_the_cli_knows_how_many_well_known_customers_there_are() -> None:
    assert len(demo.DEMO_CUSTOMERS) == KNOWN_DEMO_CUSTOMERS


def test_every_demo_store_has_its_own_showcase_go_green_and_inactive_customers(
    loaded: tuple[Engine, demo.DemoSummary],
) -> None:
    """What each store's card keys present is in that store's scope, and its demo customer has
    something on every tab: wallet cards, authorized users, suites, history over months and a
    stored-value card with its per-event and per-season limits partly used."""
    engine, _ = loaded
    assert len(demo.DEMO_STORES) == sum(len(org.brands) for org in demo.DEMO_ORGS)
    with engine.connect() as conn:
        sales = conn.execute(sa.select(transactions.c.customer_id, transactions.c.at)).all()
        debits = conn.execute(
            sa.select(
                stored_value_ledger.c.customer_id,
                stored_value_ledger.c.event_id,
                stored_value_ledger.c.delta,
            ).where(stored_value_ledger.c.delta < 0)
        ).all()
        limits = {row.customer_id: row for row in conn.execute(sa.select(stored_value_cards)).all()}
    for store in demo.DEMO_STORES:
        star = store.customer
        with _demo_till(engine, store.id) as http:
            seen = {
                customer.first_name: http.get(
                    "/identify", params={"kind": "barcode", "value": customer.barcode}
                )
                for customer in (star, store.go_green, store.inactive)
            }
            assert {name: r.status_code for name, r in seen.items()} == dict.fromkeys(seen, 200)
            flags = {name: r.json()["customer"]["profile"]["flags"] for name, r in seen.items()}
            assert flags[store.go_green.first_name]["go_green"], store.id
            assert not flags[store.inactive.first_name]["active"], store.id
            assert flags[star.first_name]["active"]
            base = f"/customers/{star.id}"
            for tab in ("wallet", "authorized-users"):
                assert http.get(f"{base}/{tab}").json(), (store.id, tab)
            grouped = http.get(f"{base}/suites").json()
            assert any(grouped[group] for group in ("ongoing", "upcoming", "closed"))
        times = [row.at for row in sales if row.customer_id == star.id]
        assert max(times) - min(times) > timedelta(days=90), star.first_name
        card = limits[star.id]
        tonight = [
            -row.delta
            for row in debits
            if row.customer_id == star.id and row.event_id == f"{_owner(store)}-event-now"
        ]
        assert 0 < sum(tonight) < card.per_event_limit, star.first_name
        used = -sum(row.delta for row in debits if row.customer_id == star.id)
        assert used < card.per_season_limit


def _owner(store: demo.DemoStore) -> str:
    """The organization whose event a store's demo customer's stored value was used at."""
    star = store.customer
    return star.registered_at[0] if star.registered_at else star.org_id
