"""A customer's accounts over HTTP: loyalty, stored value, store credit, wallet, authorized
users, suites and visits, each behind the till's scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, put_card
from tests.support.world import SUPERVISOR_PIN, World
from tillcrm.api import OpType
from tillcrm.server.db import writing
from tillcrm.server.tables import (
    audit_log,
    customers,
    metadata,
    points_accounts,
    points_ledger,
    stored_value_cards,
    stored_value_ledger,
    suites,
    visits,
    wallet_cards,
)

PAN = "4111111111111111"


def headers(org: str, who: str = "cashier", key: UUID | None = None) -> dict[str, str]:
    """The acting operator (and an idempotency key) for a write at a till of `org`."""
    found = {"X-Operator-Id": f"{org}-{who}"}
    if key is not None:
        found["Idempotency-Key"] = str(key)
    return found


def card_number_of(world: World, customer: UUID) -> str:
    with world.crm.engine.connect() as conn:
        number: str = conn.execute(
            sa.select(stored_value_cards.c.card_number).where(
                stored_value_cards.c.customer_id == customer
            )
        ).scalar_one()
    return number


# -- scope --------------------------------------------------------------------------------------


def test_every_account_path_is_404_out_of_scope(world: World) -> None:
    customer = put_customer(world, "brand", "b", first_name="Other")
    put_card(world, customer, 10_000)
    base = f"/customers/{customer}"
    with world.client("brand.a") as http:
        responses = [
            http.get(f"{base}/loyalty"),
            http.get(f"{base}/stored-value"),
            http.get(f"{base}/store-credit"),
            http.get(f"{base}/wallet"),
            http.get(f"{base}/authorized-users"),
            http.get(f"{base}/suites"),
            http.get(f"{base}/visits"),
            http.post(
                f"{base}/wallet",
                json={"card_number": PAN, "exp_month": 1, "exp_year": 2030},
                headers=headers("brand"),
            ),
            http.post(f"{base}/stored-value/load", json={"amount": 100}, headers=headers("brand")),
        ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    with world.client("brand.b") as own:
        assert own.get(f"{base}/stored-value").status_code == 200


# -- loyalty ------------------------------------------------------------------------------------


def test_loyalty_shows_every_brand_wallet_and_the_ledger_newest_first(world: World) -> None:
    customer = put_customer(world, "wallets", first_name="Lola")
    at = datetime(2026, 5, 1, tzinfo=UTC)
    with writing(world.crm.engine) as conn:
        conn.execute(
            points_accounts.insert(),
            [
                {"customer_id": customer, "account": "wallets-a", "balance": 30},
                {"customer_id": customer, "account": "wallets-b", "balance": 5},
            ],
        )
        conn.execute(
            points_ledger.insert(),
            [
                {
                    "op_id": uuid4(),
                    "customer_id": customer,
                    "account": account,
                    "delta": delta,
                    "reason": "sale",
                    "at": at + timedelta(hours=hour),
                }
                for hour, (account, delta) in enumerate(
                    [("wallets-a", 10), ("wallets-b", 5), ("wallets-a", 20)]
                )
            ],
        )
    with world.client("wallets.b") as http:
        body = http.get(f"/customers/{customer}/loyalty").json()
    assert body["accounts"] == [
        {"brand_id": "wallets-b", "balance": 5},
        {"brand_id": "wallets-a", "balance": 30},
    ]
    assert [(e["brand_id"], e["delta"]) for e in body["ledger"]] == [
        ("wallets-a", 20),
        ("wallets-b", 5),
        ("wallets-a", 10),
    ]


# -- stored value -------------------------------------------------------------------------------


def test_stored_value_shows_masked_number_limits_and_usage_now(world: World) -> None:
    customer = put_customer(world, "pool", first_name="Stella")
    put_card(world, customer, 4_000, per_event_limit=5_000, per_season_limit=20_000)
    with writing(world.crm.engine) as conn:
        conn.execute(
            stored_value_ledger.insert(),
            [
                {
                    "op_id": uuid4(),
                    "customer_id": customer,
                    "delta": delta,
                    "reason": "sale",
                    "event_id": event,
                    "season_id": "pool-season",
                    "at": datetime.now(UTC),
                }
                for delta, event in [(-1_500, "pool-event"), (-700, "old-event"), (3_000, None)]
            ],
        )
    with world.client("pool.b") as http:
        body = http.get(f"/customers/{customer}/stored-value").json()
        none = http.get(f"/customers/{put_customer(world, 'pool')}/stored-value")
    number = card_number_of(world, customer)
    assert body["card_number_masked"] == "*" * 12 + number[-4:]
    assert number not in str(body)
    assert (body["balance"], body["currency"]) == (4_000, "USD")
    assert (body["per_event_limit"], body["per_season_limit"]) == (5_000, 20_000)
    assert body["current_event"]["id"] == "pool-event"
    assert body["event_used"] == 1_500
    assert body["current_season"]["id"] == "pool-season"
    assert body["season_used"] == 2_200
    assert none.status_code == 404


def test_a_load_adds_once_per_idempotency_key(world: World) -> None:
    customer = put_customer(world, "pool", first_name="Loaded")
    put_card(world, customer, 1_000)
    key = uuid4()
    with world.client("pool.a") as http:
        first = http.post(
            f"/customers/{customer}/stored-value/load",
            json={"amount": 2_500},
            headers=headers("pool", key=key),
        )
        again = http.post(
            f"/customers/{customer}/stored-value/load",
            json={"amount": 2_500},
            headers=headers("pool", key=key),
        )
    assert first.status_code == 200, first.text
    assert first.json()["balance"] == 3_500
    assert again.json()["balance"] == 3_500
    with world.crm.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.func.count()).where(stored_value_ledger.c.customer_id == customer)
        ).scalar_one()
    assert rows == 1


def test_revealing_the_card_number_needs_a_real_supervisor_and_is_audited(world: World) -> None:
    customer = put_customer(world, "pool", first_name="Revealed")
    put_card(world, customer, 10_000)

    def approval(
        supervisor: str, kind: str = "stored_value_reveal", verification: str | None = None
    ) -> dict[str, object]:
        return {
            "override": {
                "verification_id": verification,
                "approval_id": str(uuid4()),
                "supervisor_id": supervisor,
                "cashier_id": "pool-cashier",
                "reason": "customer lost the card",
                "action": {
                    "customer_id": str(customer),
                    "kind": kind,
                    "amount": 0,
                    "limits": [],
                },
            }
        }

    url = f"/customers/{customer}/stored-value/reveal"
    with world.client("pool.a") as http:
        by_cashier = http.post(url, json=approval("pool-cashier"), headers=headers("pool"))
        by_stranger = http.post(url, json=approval("brand-super"), headers=headers("pool"))
        for_other = http.post(
            url, json=approval("pool-super", "points_redeem"), headers=headers("pool")
        )
        unverified = http.post(url, json=approval("pool-super"), headers=headers("pool"))
        verified = http.post(
            "/operators/verify", json={"supervisor_id": "pool-super", "pin": SUPERVISOR_PIN}
        ).json()["verification_id"]
        granted = http.post(
            url, json=approval("pool-super", verification=verified), headers=headers("pool")
        )
    assert unverified.status_code == 403
    assert "the CRM must verify" in unverified.json()["detail"]
    assert by_cashier.status_code == 403
    assert by_cashier.json()["problems"][0]["field"] == "override.supervisor_id"
    assert by_stranger.status_code == 403
    assert for_other.status_code == 422
    assert granted.status_code == 200, granted.text
    assert granted.json()["card_number"] == card_number_of(world, customer)
    with world.crm.engine.connect() as conn:
        audits = conn.execute(
            sa.select(audit_log).where(
                audit_log.c.customer_id == customer, audit_log.c.action == "stored_value_reveal"
            )
        ).all()
    assert [(a.operator_id, a.approver_id, a.detail) for a in audits] == [
        ("pool-cashier", "pool-super", "customer lost the card")
    ]


# -- store credit -------------------------------------------------------------------------------


def test_store_credit_limit_owed_and_room(world: World) -> None:
    customer = put_customer(world, "units", first_name="Creditor", store_credit_limit=10_000)
    with writing(world.crm.engine) as conn:
        conn.execute(
            customers.update().where(customers.c.id == customer).values(store_credit_owed=2_500)
        )
    with world.client("units.a") as http:
        body = http.get(f"/customers/{customer}/store-credit").json()
    assert (body["limit"], body["owed"], body["available"]) == (10_000, 2_500, 7_500)
    assert body["currency"] == "USD"


# -- wallet -------------------------------------------------------------------------------------


def every_stored_value(world: World) -> list[str]:
    """Every value of every column of every CRM table, as text."""
    found: list[str] = []
    with world.crm.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                found.extend(str(value) for value in row)
    return found


def test_a_wallet_card_keeps_brand_last4_expiry_and_token_and_never_the_number(
    world: World,
) -> None:
    customer = put_customer(world, "units", first_name="Walt")
    url = f"/customers/{customer}/wallet"
    with world.client("units.a") as http:
        added = http.post(
            url,
            json={"card_number": "4111 1111 1111 1111", "exp_month": 7, "exp_year": 2031},
            headers=headers("units"),
        )
        listed = http.get(url)
    assert added.status_code == 201, added.text
    card = added.json()
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "visa",
        "1111",
        7,
        2031,
    )
    assert "token" not in card
    assert PAN not in added.text
    assert [c["id"] for c in listed.json()] == [card["id"]]
    values = every_stored_value(world)
    assert not [value for value in values if PAN in value or "4111 1111" in value]
    with world.crm.engine.connect() as conn:
        token = conn.execute(
            sa.select(wallet_cards.c.token).where(wallet_cards.c.id == UUID(card["id"]))
        ).scalar_one()
    assert token.startswith("tok_")
    assert PAN[-8:] not in token


def test_a_card_number_failing_luhn_is_refused_without_echoing_it(world: World) -> None:
    customer = put_customer(world, "units", first_name="Lunn")
    with world.client("units.a") as http:
        refused = http.post(
            f"/customers/{customer}/wallet",
            json={"card_number": "4111111111111112", "exp_month": 7, "exp_year": 2031},
            headers=headers("units"),
        )
        empty = http.get(f"/customers/{customer}/wallet").json()
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["field"] == "card_number"
    assert "4111111111111112" not in refused.text
    assert empty == []


def test_a_wallet_card_can_be_relabelled_and_removed(world: World) -> None:
    customer = put_customer(world, "units", first_name="Relabel")
    url = f"/customers/{customer}/wallet"
    with world.client("units.b") as http:
        card = http.post(
            url,
            json={"card_number": "5555555555554444", "exp_month": 1, "exp_year": 2030},
            headers=headers("units"),
        ).json()
        assert card["brand"] == "mastercard"
        changed = http.patch(
            f"{url}/{card['id']}",
            json={"label": "work", "exp_year": 2032},
            headers=headers("units"),
        )
        assert (changed.json()["label"], changed.json()["exp_year"]) == ("work", 2032)
        assert http.delete(f"{url}/{card['id']}", headers=headers("units")).status_code == 204
        assert http.get(url).json() == []
        assert http.delete(f"{url}/{card['id']}", headers=headers("units")).status_code == 404


# -- authorized users ---------------------------------------------------------------------------


def test_authorized_users_are_added_listed_and_removed(world: World) -> None:
    customer = put_customer(world, "units", first_name="Boss")
    url = f"/customers/{customer}/authorized-users"
    with world.client("units.a") as http:
        added = http.post(
            url,
            json={"first_name": "Asst", "phone": "+14155550333", "allow_invoicing": True},
            headers=headers("units", key=uuid4()),
        )
        assert added.status_code == 201, added.text
        user = added.json()
        assert [u["id"] for u in http.get(url).json()] == [user["id"]]
        assert http.get(f"/customers/{customer}").json()["authorized_users"][0]["allow_invoicing"]
        removed = http.delete(f"{url}/{user['id']}", headers=headers("units"))
        assert removed.status_code == 204, removed.text
        assert http.get(url).json() == []
        assert http.delete(f"{url}/{user['id']}", headers=headers("units")).status_code == 404


# -- suites and visits --------------------------------------------------------------------------


def test_suites_are_grouped_ongoing_upcoming_closed(world: World) -> None:
    customer = put_customer(world, "units", first_name="Suite")
    now = datetime.now(UTC)
    spans = {
        "ongoing": (now - timedelta(hours=1), now + timedelta(hours=2)),
        "upcoming": (now + timedelta(days=3), now + timedelta(days=3, hours=3)),
        "closed": (now - timedelta(days=9), now - timedelta(days=9) + timedelta(hours=3)),
    }
    with writing(world.crm.engine) as conn:
        conn.execute(
            suites.insert(),
            [
                {
                    "id": uuid4(),
                    "customer_id": customer,
                    "name": f"Suite {name}",
                    "event_name": name,
                    "starts_at": start,
                    "ends_at": end,
                }
                for name, (start, end) in spans.items()
            ],
        )
    with world.client("units.a") as http:
        body = http.get(f"/customers/{customer}/suites").json()
    for group in spans:
        assert [s["suite"]["event_name"] for s in body[group]] == [group]
        assert body[group][0]["status"] == group


def test_a_suite_removal_op_takes_the_suite_off_once_and_only_in_scope(world: World) -> None:
    customer = put_customer(world, "brand", "a", first_name="Suite")
    now = datetime.now(UTC)
    suite_id, kept_id = uuid4(), uuid4()
    with writing(world.crm.engine) as conn:
        conn.execute(
            suites.insert(),
            [
                {
                    "id": row_id,
                    "customer_id": customer,
                    "name": f"Suite {n}",
                    "event_name": "Derby day",
                    "starts_at": now + timedelta(days=n),
                    "ends_at": now + timedelta(days=n, hours=4),
                }
                for n, row_id in enumerate((suite_id, kept_id), start=1)
            ],
        )
    with Outbox(world, "brand.b") as other_brand:
        [unseen] = other_brand.apply(
            other_brand.op(OpType.SUITE_REMOVE, customer, {"suite_id": str(suite_id)})
        )
    assert (unseen["status"], unseen["reason"]) == ("rejected", "customer not found")
    with Outbox(world, "brand.a") as till:
        remove = till.op(OpType.SUITE_REMOVE, customer, {"suite_id": str(suite_id)})
        [removed] = till.apply(remove)
        [resent] = till.apply(remove)
        [again] = till.apply(till.op(OpType.SUITE_REMOVE, customer, {"suite_id": str(suite_id)}))
        listed = till.http.get(f"/customers/{customer}/suites").json()
    assert (removed["status"], resent["status"], again["status"]) == (
        "applied",
        "duplicate",
        "rejected",
    )
    assert [s["suite"]["id"] for s in listed["upcoming"]] == [str(kept_id)]
    with world.crm.engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.action).where(audit_log.c.customer_id == customer)
        ).scalars()
        assert "suite_remove" in set(actions)


def test_visits_newest_first_and_paged(world: World) -> None:
    customer = put_customer(world, "units", first_name="Visitor")
    base = datetime(2026, 4, 1, 18, tzinfo=UTC)
    with writing(world.crm.engine) as conn:
        conn.execute(
            visits.insert(),
            [
                {
                    "op_id": uuid4(),
                    "customer_id": customer,
                    "till_id": "till-x",
                    "store_id": "units-a-store",
                    "operator_id": "units-cashier",
                    "method": method,
                    "at": base + timedelta(days=day),
                }
                for day, method in enumerate(["barcode", None, "phone"])
            ],
        )
    with world.client("units.b") as http:
        first = http.get(f"/customers/{customer}/visits", params={"limit": 2}).json()
        rest = http.get(
            f"/customers/{customer}/visits", params={"limit": 2, "offset": first["next_offset"]}
        ).json()
    assert [v["method"] for v in first["items"]] == ["phone", None]
    assert [v["method"] for v in rest["items"]] == ["barcode"]
    assert rest["next_offset"] is None
