"""Customers per second of a till's first full pull through `GET /v1/sync/pull`.

The CRM runs as `tillcrm crm serve` in its own process on a free loopback port, on a fresh
SQLite file (with `--pg URL`, also on a fresh PostgreSQL database, dropped afterwards). One
organization with one brand, store and till; its customers are bulk-inserted the way the CRM
stores them (`customer_rows.profile_columns`), each with its registration, a barcode card, a
points balance and a full profile. The till then pulls everything from an empty cursor, page
after page, as a till's first sync does; the clock covers the HTTP requests and the decoding of
their JSON. Beside it, the CPU the CRM spent per customer: its serve process, and on
PostgreSQL (run on this machine) the database's backends. Prints JSON:

    {"sqlite": {"customers_per_s": ..., "customers": ..., "seconds": ..., "pages": ...,
                "crm_cpu_us_per_customer": ..., "database_cpu_us_per_customer": ...}, ...}

Run: .venv/bin/python benchmarks/server_pull.py [--customers 20000] [--page 1000] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from _crm import fresh_postgres, postgres_cpu_seconds, served_crm
from tillcrm.domain import (
    Address,
    Brand,
    CustomerFlags,
    CustomerProfile,
    IdentifierKind,
    IdentifierStatus,
    Organization,
    Store,
)
from tillcrm.server import admin
from tillcrm.server.customer_rows import identifier_row, profile_columns
from tillcrm.server.db import create_db_engine, writing
from tillcrm.server.migrate import upgrade
from tillcrm.server.tables import (
    counters,
    customer_registrations,
    customers,
    identifiers,
    points_accounts,
)

ORG = Organization(id="bench-org", name="Bench Org")
BRAND = Brand(id="bench-brand", org_id=ORG.id, name="Bench Brand")
STORE = Store(id="bench-store", brand_id=BRAND.id, name="Bench Store")
INSERT_CHUNK = 5_000


def _profile(number: int) -> CustomerProfile:
    return CustomerProfile(
        customer_number=f"B{number:08d}",
        first_name=f"First{number % 997}",
        last_name=f"Last{number % 1009}",
        company="Bench Ltd" if number % 5 == 0 else "",
        mobile=f"+4479{number:08d}",
        email=f"customer{number}@example.com",
        address=Address(line1=f"{number} High Street", city="Leeds", country="GB"),
        date_of_birth=date(1950 + number % 50, 1 + number % 12, 1 + number % 28),
        tags=["bench"],
        flags=CustomerFlags(vip=number % 10 == 0),
        custom_fields={"shirt": "L"},
    )


def _prepare(db_url: str, count: int) -> str:
    """The organization, `count` customers with a card and points each; an enrollment code."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    now = datetime.now(UTC)
    try:
        with writing(engine) as conn:
            admin.add_organization(conn, ORG)
            admin.add_brand(conn, BRAND)
            admin.add_store(conn, STORE)
            code = admin.issue_enrollment_code(conn, STORE.id)
        for start in range(0, count, INSERT_CHUNK):
            numbers = range(start + 1, min(start + INSERT_CHUNK, count) + 1)
            ids = {number: uuid.uuid4() for number in numbers}
            with writing(engine) as conn:
                conn.execute(
                    customers.insert(),
                    [
                        {
                            "id": ids[number],
                            "org_id": ORG.id,
                            "brand_id": BRAND.id,
                            "version": 1,
                            "change_seq": number,
                            "created_at": now,
                            "updated_at": now,
                            **profile_columns(_profile(number)),
                        }
                        for number in numbers
                    ],
                )
                conn.execute(
                    identifiers.insert(),
                    [
                        identifier_row(
                            IdentifierKind.BARCODE,
                            f"BC{number:010d}",
                            IdentifierStatus.ACTIVE,
                            customer_id=ids[number],
                            org_id=ORG.id,
                            family_id=ORG.id,
                        )
                        for number in numbers
                    ],
                )
                conn.execute(
                    customer_registrations.insert(),
                    [
                        {
                            "customer_id": ids[number],
                            "org_id": ORG.id,
                            "custom_fields": {},
                            "registered_at": now,
                        }
                        for number in numbers
                    ],
                )
                conn.execute(
                    points_accounts.insert(),
                    [
                        {"customer_id": ids[number], "account": "", "balance": number % 500}
                        for number in numbers
                    ],
                )
        with writing(engine) as conn:
            conn.execute(counters.insert().values(name="changes", value=count))
    finally:
        engine.dispose()
    return code


def _db_cpu(db_url: str) -> float:
    """The database's CPU seconds so far: PostgreSQL's backends for `db_url` when they run on
    this machine; SQLite's work is inside the CRM process, so 0."""
    if db_url.startswith("sqlite"):
        return 0.0
    seconds = postgres_cpu_seconds(db_url)
    if seconds is None:
        raise RuntimeError("PostgreSQL's backends are not visible in /proc: run it locally")
    return seconds


def _run(db_url: str, workdir: Path, count: int, page: int) -> dict[str, Any]:
    code = _prepare(db_url, count)
    with (
        served_crm(db_url, workdir) as crm,
        httpx.Client(base_url=f"{crm.root}/v1", timeout=300) as http,
    ):
        enrolled = http.post("/tills/enroll", json={"code": code, "name": "Bench till"})
        enrolled.raise_for_status()
        http.headers["Authorization"] = f"Bearer {enrolled.json()['token']}"
        cursor, pulled, pages, slowest = "", 0, 0, 0.0
        began, crm_began, db_began = time.perf_counter(), crm.cpu_seconds(), _db_cpu(db_url)
        while True:
            asked = time.perf_counter()
            answer = http.get("/sync/pull", params={"cursor": cursor, "limit": page})
            answer.raise_for_status()
            body = answer.json()
            slowest = max(slowest, time.perf_counter() - asked)
            pulled += len(body["customers"])
            pages += 1
            cursor = body["cursor"]
            if not body["more"]:
                break
        seconds = time.perf_counter() - began
        crm_cpu, db_cpu = crm.cpu_seconds() - crm_began, _db_cpu(db_url) - db_began
    if pulled != count:
        raise RuntimeError(f"pulled {pulled} customers of {count}")
    return {
        "customers_per_s": round(pulled / seconds),
        "customers": pulled,
        "seconds": round(seconds, 3),
        "pages": pages,
        "page_size": page,
        "slowest_page_ms": round(slowest * 1000, 1),
        "crm_cpu_us_per_customer": round(crm_cpu / pulled * 1e6, 1),
        "database_cpu_us_per_customer": round(db_cpu / pulled * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=1_000)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a fresh db is made)")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tillcrm-pull-") as tmp:
        workdir = Path(tmp)
        sqlite_url = f"sqlite:///{workdir / 'crm.sqlite3'}"
        report["sqlite"] = _run(sqlite_url, workdir, args.customers, args.page)
        if args.pg:
            with fresh_postgres(args.pg) as url:
                report["postgresql"] = _run(url, workdir, args.customers, args.page)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
