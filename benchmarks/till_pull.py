"""Customers per second of a till's first full pull, end to end and for the till's side alone.

A real CRM runs as `tillcrm crm serve` in its own process on a free loopback port, on a fresh
SQLite file loaded with the demo data (`tillcrm.server.demo_data`); a till enrolls at the demo
store and its `SyncEngine.pull_once` loads its whole scope into a fresh till database through
`CrmClient`, exactly as a till's first sync does. That is the end-to-end figure (the CRM's
answers included).

The till's share is then measured without the CRM: the same pages' bytes, fetched beforehand,
are parsed as the client parses them (`PulledPage`) and stored with their cursor as the engine
stores them (`CustomerCache.store_records`), into another fresh till database. For comparison,
the same bytes go through the full validation the client used before (`PullResponse`, every
field of every `CustomerOut`) and `CustomerCache.store`. Times are wall and CPU seconds (on a
shared machine the wall figure includes other processes' turns). Prints JSON.

    .venv/bin/python benchmarks/till_pull.py [--customers 260000] [--page 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from _crm import served
from tillcrm.api import PullResponse
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.crm._client import PulledPage
from tillcrm.local import CustomerCache, Meta, TillDatabase, open_database
from tillcrm.server import admin
from tillcrm.server import demo_data as demo
from tillcrm.server.db import create_db_engine, writing
from tillcrm.server.migrate import upgrade
from tillcrm.sync import SyncEngine

TARGET_PER_S = 20_000


def _prepare(db_url: str, count: int) -> str:
    """The demo data with `count` customers; an enrollment code at the demo store."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        demo.load_demo_data(engine, customers_count=count, seed=1)
        with writing(engine) as conn:
            return admin.issue_enrollment_code(conn, demo.DEMO_STORE_ID)
    finally:
        engine.dispose()


async def _first_sync(base: str, code: str, till_db: TillDatabase, page: int) -> dict[str, Any]:
    """The real first pull; returns its figures and the token the till got."""
    async with CrmClient(base) as anonymous:
        token = (await anonymous.enroll(code, "Pull bench")).token
    async with CrmClient(base, token=token, read_timeout=300) as client:
        engine = SyncEngine(till_db, client, SyncSettings(pull_page_size=page))
        began, began_cpu = time.perf_counter(), time.process_time()
        pulled = await engine.pull_once()
        seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    if engine.status().last_pull_at is None:
        raise RuntimeError(f"the pull stopped early: {engine.status().problem}")
    return {
        "token": token,
        "customers": pulled,
        "customers_per_s": round(pulled / seconds),
        "seconds": round(seconds, 2),
        "till_process_cpu_s": round(cpu, 2),
    }


def _page_bytes(base: str, token: str, page: int) -> list[bytes]:
    """Every page of the first pull, as the CRM sends it."""
    pages: list[bytes] = []
    cursor = ""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base}/v1", headers=headers, timeout=300) as http:
        while True:
            answer = http.get("/sync/pull", params={"cursor": cursor, "limit": page})
            answer.raise_for_status()
            pages.append(answer.content)
            body = answer.json()
            cursor = body["cursor"]
            if not body["more"]:
                return pages


def _till_side(
    pages: list[bytes],
    path: Path,
    parse: Callable[[bytes], tuple[Any, str]],
    store: Callable[[Any, Any], None],
) -> dict[str, Any]:
    """Parse and store every page into a fresh till database, timing the two apart."""
    db = open_database(path)
    parse_s = parse_cpu = store_s = store_cpu = 0.0
    count = 0
    for wire in pages:
        began, began_cpu = time.perf_counter(), time.process_time()
        customers, cursor = parse(wire)
        parsed, parsed_cpu = time.perf_counter(), time.process_time()
        with db.write() as conn:
            store(conn, customers)
            Meta.set_cursor(conn, cursor)
        store_s += time.perf_counter() - parsed
        store_cpu += time.process_time() - parsed_cpu
        parse_s += parsed - began
        parse_cpu += parsed_cpu - began_cpu
        count += len(customers)
    db.close()
    return {
        "customers_per_s": round(count / (parse_s + store_s)),
        "customers_per_cpu_s": round(count / (parse_cpu + store_cpu)),
        "parse_us_per_customer": round(parse_s / count * 1e6, 1),
        "store_us_per_customer": round(store_s / count * 1e6, 1),
        "parse_cpu_us_per_customer": round(parse_cpu / count * 1e6, 1),
        "store_cpu_us_per_customer": round(store_cpu / count * 1e6, 1),
    }


def _pulled(wire: bytes) -> tuple[Any, str]:
    page = PulledPage.from_json(wire)
    return page.customers, page.cursor


def _fully_validated(wire: bytes) -> tuple[Any, str]:
    page = PullResponse.model_validate_json(wire)
    return page.customers, page.cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--customers", type=int, default=260_000, help="demo customers (a fifth in the scope)"
    )
    parser.add_argument("--page", type=int, default=SyncSettings().pull_page_size)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tillcrm-till-pull-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'crm.sqlite3'}"
        code = _prepare(db_url, args.customers)
        with served(db_url, workdir) as base:
            till_db = open_database(workdir / "till.sqlite3")
            end_to_end = asyncio.run(_first_sync(base, code, till_db, args.page))
            cached = CustomerCache(till_db).count()
            till_db.close()
            pages = _page_bytes(base, end_to_end.pop("token"), args.page)
        if cached != end_to_end["customers"]:
            raise RuntimeError(f"pulled {end_to_end['customers']} customers, cached {cached}")
        till_side = _till_side(
            pages, workdir / "till-2.sqlite3", _pulled, CustomerCache.store_records
        )
        before = _till_side(
            pages, workdir / "till-3.sqlite3", _fully_validated, CustomerCache.store
        )
    report = {
        "demo_customers": args.customers,
        "page_size": args.page,
        "end_to_end": end_to_end,
        "till_side": till_side,
        "till_side_full_validation": before,
        "target_per_s": TARGET_PER_S,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
