"""Bad input over HTTP: a 4xx whose body names the field at fault, and nothing changed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.world import World
from tillcrm.server.tables import metadata

MEGABYTE = "x" * 1_000_000
CASHIER = {"X-Operator-Id": "units-cashier"}

Call = Callable[[httpx.Client, str], httpx.Response]
"""A request made as a till of `units`, given a customer id of that organization."""

CASES: dict[str, tuple[Call, str]] = {
    "malformed JSON": (
        lambda http, _c: http.post(
            "/customers",
            content=b'{"profile": {"first_name": "Ann"',
            headers={**CASHIER, "Content-Type": "application/json"},
        ),
        "",
    ),
    "wrong type in the profile": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {"first_name": 5}}, headers=CASHIER
        ),
        "profile.first_name",
    ),
    "a profile that is not an object": (
        lambda http, _c: http.post("/customers", json={"profile": ["a"]}, headers=CASHIER),
        "profile",
    ),
    "1 MB name": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {"last_name": MEGABYTE}}, headers=CASHIER
        ),
        "profile.last_name",
    ),
    "1 MB comment in a patch": (
        lambda http, c: http.patch(
            f"/customers/{c}",
            json={"base_version": "one", "changes": {"comments": MEGABYTE}},
            headers=CASHIER,
        ),
        "base_version",
    ),
    "1 MB card number": (
        lambda http, c: http.post(
            f"/customers/{c}/wallet",
            json={"card_number": MEGABYTE, "exp_month": 1, "exp_year": 2030},
            headers=CASHIER,
        ),
        "card_number",
    ),
    "a long search text": (
        lambda http, _c: http.get("/customers", params={"q": "y" * 5_000}),
        "q",
    ),
    "unknown identifier kind": (
        lambda http, _c: http.get("/identify", params={"kind": "laser", "value": "1"}),
        "kind",
    ),
    "unknown identifier kind in a new customer": (
        lambda http, _c: http.post(
            "/customers",
            json={"profile": {}, "identifiers": [{"kind": "laser", "value": "1"}]},
            headers=CASHIER,
        ),
        "identifiers.0.kind",
    ),
    "negative load": (
        lambda http, c: http.post(
            f"/customers/{c}/stored-value/load", json={"amount": -500}, headers=CASHIER
        ),
        "amount",
    ),
    "negative credit limit": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {"store_credit_limit": -1}}, headers=CASHIER
        ),
        "profile.store_credit_limit",
    ),
    "month 13": (
        lambda http, c: http.post(
            f"/customers/{c}/wallet",
            json={"card_number": "4111111111111111", "exp_month": 13, "exp_year": 2030},
            headers=CASHIER,
        ),
        "exp_month",
    ),
    "negative page offset": (
        lambda http, c: http.get(f"/customers/{c}/history", params={"offset": -1}),
        "offset",
    ),
    "not a customer id": (
        lambda http, _c: http.get("/customers/not-a-uuid"),
        "customer_id",
    ),
    "a write without an operator": (
        lambda http, _c: http.post("/customers", json={"profile": {}}),
        "X-Operator-Id",
    ),
    "an idempotency key that is not a UUID": (
        lambda http, _c: http.post(
            "/customers", json={"profile": {}}, headers={**CASHIER, "Idempotency-Key": "k1"}
        ),
        "Idempotency-Key",
    ),
}


def row_counts(world: World) -> dict[str, int]:
    """Rows per table of the CRM."""
    with world.crm.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_4xx_naming_the_field_and_changes_nothing(world: World, case: str) -> None:
    customer = put_customer(world, "units", first_name="Victim")
    call, field = CASES[case]
    before = row_counts(world)
    with world.client("units.a") as http:
        response = call(http, str(customer))
    assert 400 <= response.status_code < 500, response.text[:300]
    body = response.json()
    assert body["code"] == "invalid"
    if field:
        assert field in [problem["field"] for problem in body["problems"]], body["problems"]
    else:
        assert "JSON" in body["detail"]
    assert len(response.content) < 20_000
    assert row_counts(world) == before
