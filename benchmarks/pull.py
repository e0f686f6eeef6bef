"""The till's first full pull in customers per second, end to end and for the till's side
alone; and the till's peak RSS with 1,000,000 cached customers.

A real CRM runs as `tillcrm crm serve` in its own process on a free loopback port, on a fresh
SQLite file loaded with the demo data (`tillcrm.server.demo_data`); a till enrolls at the demo
store and its `SyncEngine.pull_once` loads its whole scope into a fresh till database through
`CrmClient`, exactly as a till's first sync does. That is the end-to-end figure (the CRM's
answers included); `--pulls` new tills do it one after the other, and the median is reported
with every run (one pull on a shared machine varies by a tenth).

The till's share is then measured without the CRM: the same pages' bytes, fetched beforehand,
are read as the client reads them (`PulledPage`), checked as the engine checks them
(`CustomerCache.parse_page`) and stored with their cursor (`CustomerCache.store_page`) into
another fresh till database as a bulk load, whose finish (indexes and search rows built once,
`bulk_load.finish`) counts as storing; as the engine does, pages are not fsynced and the WAL
is checkpointed aside (`TillDatabase.checkpoints_aside`), whose thread's CPU counts in the
process's CPU time but not in the wall time. For comparison, the same bytes go through full
validation (`PullResponse`, every field of every `CustomerOut`) and `CustomerCache.store`.
Times are wall and CPU seconds (on a shared machine the wall figure includes other
processes' turns).

Memory: the till database is then topped up to `--rss-customers` cached customers (pull pages
as `benchmarks/local_search.py` makes them, stored the same way), and a fresh process opens it
as the till does (`TillService`) and works the scan path: identify by card, phone search, name
search, profile, a durable visit op. Its peak RSS (`ru_maxrss`) is the figure. Prints JSON.

    .venv/bin/python benchmarks/pull.py [--customers 260000] [--page 1000]
        [--rss-customers 1000000] [--pulls 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from _crm import demo_crm, enrollment_code, served
from local_search import page_json
from tillcrm.api import PullResponse
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.crm._client import PulledPage
from tillcrm.local import CustomerCache, Meta, TillDatabase, bulk_load, open_database
from tillcrm.sync import SyncEngine

TARGET_PER_S = 20_000
TARGET_RSS_MB = 150


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


def _context(base: str, token: str) -> str:
    """The till's context as the CRM gives it (what the till keeps for offline starts)."""
    headers = {"Authorization": f"Bearer {token}"}
    answer = httpx.get(f"{base}/v1/tills/me", headers=headers, timeout=30)
    answer.raise_for_status()
    return answer.text


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
    with db.checkpoints_aside():  # as `SyncEngine.pull_once` stores a first pull
        for wire in pages:
            began, began_cpu = time.perf_counter(), time.process_time()
            customers, cursor = parse(wire)
            parsed, parsed_cpu = time.perf_counter(), time.process_time()
            with db.write(durable=False) as conn:
                store(conn, customers)
                Meta.set_cursor(conn, cursor)
            store_s += time.perf_counter() - parsed
            store_cpu += time.process_time() - parsed_cpu
            parse_s += parsed - began
            parse_cpu += parsed_cpu - began_cpu
            count += len(customers)
        began, began_cpu = time.perf_counter(), time.process_time()
        with db.write() as conn:
            bulk_load.finish(conn)  # nothing to do unless `store` began a bulk load
        store_s += time.perf_counter() - began
        store_cpu += time.process_time() - began_cpu
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
    return CustomerCache.parse_page(page.body), page.cursor


def _store_page(conn: Any, page: Any) -> None:
    bulk_load.begin(conn)
    CustomerCache.store_page(conn, page)


def _top_up(path: Path, total: int, page: int) -> dict[str, Any]:
    """Fill the till database up to `total` cached customers as pull pages would."""
    db = open_database(path)
    start = CustomerCache(db).count()
    began = time.perf_counter()
    for first in range(0, max(0, total - start), page):
        last = min(first + page, total - start)
        checked = CustomerCache.parse_page(page_json(first, last, total - start))
        with db.write() as conn:
            CustomerCache.store_page(conn, checked)
    seconds = time.perf_counter() - began
    cached = CustomerCache(db).count()
    db.close()
    return {"cached": cached, "added_per_s": round((cached - start) / max(seconds, 1e-9))}


def _till_rss(path: Path, context: str, count: int) -> dict[str, Any]:
    """Peak RSS of a till process working the scan path on the database at `path`."""
    worker = str(Path(__file__).with_name("_till_at_work.py"))
    done = subprocess.run(
        [sys.executable, worker, str(path), context, str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def _fully_validated(wire: bytes) -> tuple[Any, str]:
    page = PullResponse.model_validate_json(wire)
    return page.customers, page.cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--customers", type=int, default=260_000, help="demo customers (a fifth in the scope)"
    )
    parser.add_argument("--page", type=int, default=SyncSettings().pull_page_size)
    parser.add_argument("--rss-customers", type=int, default=1_000_000)
    parser.add_argument("--pulls", type=int, default=5, help="end-to-end first pulls to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tillcrm-pull-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'crm.sqlite3'}"
        code = demo_crm(db_url, args.customers)
        runs: list[dict[str, Any]] = []
        with served(db_url, workdir) as base:
            for run in range(args.pulls):
                # Each pull is a new till's first, into a fresh cache; the first one's stays.
                till_db = open_database(workdir / ("till.sqlite3" if run == 0 else f"{run}.db"))
                pulled = asyncio.run(
                    _first_sync(
                        base, code if run == 0 else enrollment_code(db_url), till_db, args.page
                    )
                )
                cached = CustomerCache(till_db).count()
                till_db.close()
                if cached != pulled["customers"]:
                    raise RuntimeError(f"pulled {pulled['customers']} customers, cached {cached}")
                runs.append(pulled)
            token = runs[0]["token"]
            context = _context(base, token)
            pages = _page_bytes(base, token, args.page)
        rates = sorted(run["customers_per_s"] for run in runs)
        end_to_end = {
            "median_customers_per_s": rates[len(rates) // 2],
            "runs": [{k: v for k, v in run.items() if k != "token"} for run in runs],
        }
        till_side = _till_side(pages, workdir / "till-2.sqlite3", _pulled, _store_page)
        before = _till_side(
            pages, workdir / "till-3.sqlite3", _fully_validated, CustomerCache.store
        )
        filled = _top_up(workdir / "till.sqlite3", args.rss_customers, 5_000)
        memory = {**_till_rss(workdir / "till.sqlite3", context, filled["cached"]), **filled}
    report = {
        "demo_customers": args.customers,
        "page_size": args.page,
        "end_to_end": end_to_end,
        "till_side": till_side,
        "till_side_full_validation": before,
        "target_per_s": TARGET_PER_S,
        "till_memory": memory,
        "target_rss_mb": TARGET_RSS_MB,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
