"""Organization units over HTTP: two units (brands) of one organization and a till each.

Customers are shared by every unit; loyalty is one program (`units`) or one per unit
(`unitsown`); subscriptions, stores and billing settings are per unit; the organization report
gives each unit's figures and the total (`tillcrm crm report`, run as a subprocess on the
CRM's database: a SQLite file, and PostgreSQL when configured). The same rules against the
till's cache are in tests/till/test_org_units.py.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, put_card, sale
from tests.support.world import ORGS, World
from tillcrm.api import OpType
from tillcrm.domain.money_format import MoneyFormat
from tillcrm.server.db import writing
from tillcrm.server.org_config import put_setting


def create_at(world: World, till: str, **profile: Any) -> dict[str, Any]:
    """A customer created through the till's REST path, with a barcode."""
    body = {
        "profile": {"first_name": "Una", "last_name": "Unit", **profile},
        "identifiers": [{"kind": "barcode", "value": f"OU{uuid4().hex[:10]}"}],
    }
    org = till.split(".")[0]
    with world.client(till) as http:
        response = http.post("/customers", json=body, headers={"X-Operator-Id": f"{org}-cashier"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def points_seen(world: World, till: str, customer: UUID | str) -> list[tuple[str | None, int]]:
    with world.client(till) as http:
        points = http.get(f"/customers/{customer}").json()["balances"]["points"]
    return [(p["brand_id"], p["balance"]) for p in points]


def test_a_customer_registered_in_one_unit_is_registered_in_all(world: World) -> None:
    created = create_at(world, "units.a", email="una@example.com")
    barcode = created["identifiers"][0]["value"]
    with world.client("units.b") as http:
        found = http.get("/identify", params={"kind": "barcode", "value": barcode})
        assert found.status_code == 200
        assert found.json()["customer"]["profile"]["email"] == "una@example.com"
        assert [c["id"] for c in http.get("/customers", params={"q": "una@"}).json()["items"]] == [
            created["id"]
        ]
    assert created["org_id"] == ORGS["units"].id
    assert created["brand_id"] is None


def test_central_loyalty_earns_in_one_unit_and_redeems_in_another(world: World) -> None:
    customer = put_customer(world, "units", None, first_name="Central")
    with Outbox(world, "units.a") as a, Outbox(world, "units.b") as b:
        a.apply(a.op(OpType.SALE, customer, sale(("cash", 1500))))
        assert points_seen(world, "units.b", customer) == [(None, 15)]
        [spent] = b.apply(b.op(OpType.SALE, customer, sale(("points", 10))))
    assert spent["status"] == "applied", spent
    assert points_seen(world, "units.a", customer) == [(None, 5)]


def test_independent_loyalty_keeps_each_units_points_apart(world: World) -> None:
    customer = put_customer(world, "unitsown", None, first_name="Separate")
    with Outbox(world, "unitsown.a") as a, Outbox(world, "unitsown.b") as b:
        a.apply(a.op(OpType.SALE, customer, sale(("cash", 1500))))
        [refused] = b.apply(b.op(OpType.SALE, customer, sale(("points", 10))))
    assert refused["status"] == "rejected"
    assert points_seen(world, "unitsown.a", customer)[0] == ("unitsown-a", 15)
    assert points_seen(world, "unitsown.b", customer)[0] == ("unitsown-b", 0)


def test_marketing_sms_subscriptions_are_per_unit(world: World) -> None:
    created = create_at(world, "units.a", flags={"marketing_sms": True})
    with world.client("units.b") as http:
        seen_b = http.get(f"/customers/{created['id']}").json()
        assert seen_b["profile"]["flags"]["marketing_sms"] is False
        changed = http.patch(
            f"/customers/{created['id']}/membership",
            json={"marketing_sms": True},
            headers={"X-Operator-Id": "units-cashier"},
        )
        assert changed.json()["profile"]["flags"]["marketing_sms"] is True
    with world.client("units.a") as http:
        http.patch(
            f"/customers/{created['id']}/membership",
            json={"marketing_sms": False},
            headers={"X-Operator-Id": "units-cashier"},
        ).raise_for_status()
    flags = {
        till: world.client(till).get(f"/customers/{created['id']}").json()["profile"]["flags"]
        for till in ("units.a", "units.b")
    }
    assert (flags["units.a"]["marketing_sms"], flags["units.b"]["marketing_sms"]) == (False, True)


def test_billing_settings_and_stores_are_per_unit(world: World) -> None:
    with writing(world.crm.engine) as conn:
        put_setting(conn, ORGS["units"].id, "billing_day", "1")
        put_setting(conn, ORGS["units"].id, "invoice_prefix", "CG")
        put_setting(conn, "units-a", "billing_day", "15")
    contexts = {}
    for till in ("units.a", "units.b"):
        with world.client(till) as http:
            contexts[till] = http.get("/tills/me").json()
    assert contexts["units.a"]["settings"] == {"billing_day": "15", "invoice_prefix": "CG"}
    assert contexts["units.b"]["settings"] == {"billing_day": "1", "invoice_prefix": "CG"}
    assert contexts["units.a"]["store"]["brand_id"] == "units-a"
    assert contexts["units.b"]["store"]["brand_id"] == "units-b"


def run_report(
    world: World, tmp_path: Path, *options: str, locale: str = "en_US"
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[locale]\nlocale = "{locale}"\n')
    command = [str(Path(sys.executable).with_name("tillcrm")), "--config", str(config), "crm"]
    command += ["report", "--db", world.crm.db_url, *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def report_rows(world: World, tmp_path: Path, *options: str) -> dict[str, dict[str, int]]:
    done = run_report(world, tmp_path, "--org", ORGS["unitsown"].id, "--csv", *options)
    assert done.returncode == 0, done.stderr
    return {
        row.pop("unit"): {name: int(value) for name, value in row.items() if name != "unit_id"}
        for row in csv.DictReader(io.StringIO(done.stdout))
    }


def test_the_report_gives_each_units_figures_and_the_total(world: World, tmp_path: Path) -> None:
    before = report_rows(world, tmp_path)
    customer = put_customer(world, "unitsown", None, first_name="Reported")
    put_card(world, customer, 5000)
    with Outbox(world, "unitsown.a") as a, Outbox(world, "unitsown.b") as b:
        a.apply(
            a.op(OpType.VISIT, customer, {"method": "barcode"}),
            a.op(OpType.SALE, customer, sale(("cash", 2000))),
            a.op(OpType.SALE, customer, sale(("points", 5), ("stored_value", 700))),
        )
        b.apply(
            b.op(OpType.VISIT, customer, {"method": "phone"}),
            b.op(OpType.VISIT, customer, {"method": "phone"}),
            b.op(OpType.SALE, customer, sale(("stored_value", 300), ("cash", 100))),
        )
    after = report_rows(world, tmp_path)
    grown = {
        unit: {name: after[unit][name] - before[unit][name] for name in after[unit]}
        for unit in after
    }
    assert grown["a"] == {
        "visits": 1,
        "sales": 2,
        "sales_total": 2705,
        "points_issued": 27,
        "points_redeemed": 5,
        "stored_value_used": 700,
    }
    assert grown["b"] == {
        "visits": 2,
        "sales": 1,
        "sales_total": 400,
        "points_issued": 4,
        "points_redeemed": 0,
        "stored_value_used": 300,
    }
    assert grown["Total"] == {name: grown["a"][name] + grown["b"][name] for name in grown["a"]}
    today, tomorrow = date.today(), date.today() + timedelta(days=1)
    dated = report_rows(world, tmp_path, "--from", today.isoformat(), "--to", tomorrow.isoformat())
    assert dated["Total"]["sales"] >= grown["Total"]["sales"]
    later = report_rows(world, tmp_path, "--from", tomorrow.isoformat())
    assert set(later["Total"].values()) == {0}
    table = run_report(world, tmp_path, "--org", ORGS["unitsown"].id)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Own Programs (org-unitsown), amounts in USD"
    assert lines[1].split()[:3] == ["unit", "visits", "sales"]
    assert lines[-1].split()[0] == "Total"
    sales_total, used = after["Total"]["sales_total"], after["Total"]["stored_value_used"]
    english = MoneyFormat("en_US", "USD")
    assert english.format(sales_total) in lines[-1]
    german = run_report(world, tmp_path, "--org", ORGS["unitsown"].id, locale="de_DE")
    assert german.returncode == 0, german.stderr
    in_german = MoneyFormat("de_DE", "USD")
    assert in_german.format(sales_total) in german.stdout.splitlines()[-1]
    assert in_german.format(used) in german.stdout.splitlines()[-1]
    unknown = run_report(world, tmp_path, "--org", "no-such-org")
    assert unknown.returncode == 1
    assert "no organization 'no-such-org'; known:" in unknown.stderr
