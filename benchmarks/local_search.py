"""Local cache benchmark: a till database with 1,000,000 customers, filled the way pull fills it.

Pages of customers are made as the CRM sends them (`PullResponse` JSON), read as the client
reads them (`PulledPage`), checked by `CustomerCache.parse_page` and stored by `store_page` with
the page's cursor in one transaction, exactly as `SyncEngine.pull_once` does. Then it times the
cashier's lookups (identifier, exact phone, last 4 digits, name fragment) and one durable
`enqueue`, and prints JSON. The pull rate is given whole (parse + store) and for the cache
alone, in wall and in CPU seconds (on a shared machine the wall figure includes other
processes' turns). Targets: first pull >= 20,000 customers/s, lookups p95 < 20 ms, enqueue p95
< 5 ms, RSS after loading < 150 MB.

    .venv/bin/python benchmarks/local_search.py [--customers N] [--samples N] [--page N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tillcrm.api import OpType, VisitPayload
from tillcrm.config import SyncSettings
from tillcrm.crm._client import PulledPage
from tillcrm.domain import IdentifierKind
from tillcrm.local import CustomerCache, Meta, Outbox, open_database

FIRST = ["Anna", "Bob", "Carla", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = [
    "Smithson", "Jones", "Keller", "Okafor", "Nakamura", "Rossi", "Dubois", "Novak", "Silva",
    "Larsen", "Moreau", "Fischer", "Kowalski", "Haddad", "Tanaka", "Schmidt", "Garcia", "Berg",
]  # fmt: skip
NOW = datetime.now(UTC).isoformat()


def customer(i: int) -> dict[str, Any]:
    """Customer number i as the CRM's pull sends it."""
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    return {
        "id": str(uuid.UUID(int=i + 1)),
        "version": 1,
        "org_id": "org-bench",
        "brand_id": "bench-a",
        "profile": {
            "customer_number": f"C{i:07d}",
            "first_name": first,
            "last_name": f"{last}{i % 97}",
            "company": f"{last} Trading {i % 1000}" if i % 5 == 0 else "",
            "mobile": f"+1415{i:07d}",
            "email": f"{first.lower()}.{last.lower()}{i}@example.com",
            "flags": {"active": i % 50 != 0},
        },
        "identifiers": [{"kind": "barcode", "value": f"LOY-{i:07d}", "status": "active"}],
        "balances": {
            "points": [{"brand_id": "bench-a", "balance": i % 5000}],
            "stored_value": (i % 10000) if i % 3 == 0 else None,
            "as_of": NOW,
        },
        "created_at": NOW,
        "updated_at": NOW,
    }


def page_json(start: int, stop: int, total: int) -> bytes:
    """One pull page on the wire."""
    body = {
        "customers": [customer(i) for i in range(start, stop)],
        "cursor": str(stop),
        "more": stop < total,
    }
    return json.dumps(body).encode()


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 3), "p95_ms": round(cuts[94] * 1000, 3)}


def timed(samples: int, call: Callable[[int], object]) -> dict[str, float]:
    """Time `call(k)` for k in 0..samples-1."""
    times = []
    for k in range(samples):
        started = time.perf_counter()
        call(k)
        times.append(time.perf_counter() - started)
    return percentiles(times)


def rss_mb() -> float:
    """Resident set size now, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument(
        "--page", type=int, default=SyncSettings().pull_page_size, help="customers per pull page"
    )
    args = parser.parse_args()
    total: int = args.customers
    rng = random.Random(7)

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "till.sqlite3")
        # The first pull: parse each page as the client does, store it with its cursor.
        parse_s = store_s = store_cpu_s = 0.0
        for start in range(0, total, args.page):
            wire = page_json(start, min(start + args.page, total), total)
            parsing = time.perf_counter()
            page = PulledPage.from_json(wire)
            checked = CustomerCache.parse_page(page.body)
            storing, storing_cpu = time.perf_counter(), time.process_time()
            with db.write() as conn:
                CustomerCache.store_page(conn, checked)
                Meta.set_cursor(conn, page.cursor)
            store_s += time.perf_counter() - storing
            store_cpu_s += time.process_time() - storing_cpu
            parse_s += storing - parsing
        rss_after_load = rss_mb()

        cache = CustomerCache(db, phone_region="US")
        picks = [rng.randrange(total) for _ in range(args.samples)]
        lookups = {
            "identifier": timed(
                args.samples,
                lambda k: cache.by_identifier(IdentifierKind.BARCODE, f"LOY-{picks[k]:07d}"),
            ),
            "phone_exact": timed(args.samples, lambda k: cache.by_phone(f"(415) {picks[k]:07d}")),
            "phone_last4": timed(
                args.samples, lambda k: cache.by_last_digits(f"{picks[k] % 10000:04d}")
            ),
            "name_fragment": timed(
                args.samples, lambda k: cache.by_text(LAST[picks[k] % len(LAST)][1:5])
            ),
            "name_full": timed(
                args.samples,
                lambda k: cache.by_text(
                    f"{FIRST[picks[k] % len(FIRST)]} {LAST[(picks[k] // len(FIRST)) % len(LAST)]}"
                    f"{picks[k] % 97}"
                ),
            ),
            "search_box_2_letters": timed(
                args.samples, lambda k: cache.search(LAST[picks[k] % len(LAST)][:2])
            ),
        }

        def enqueue(_: int) -> None:
            with db.write() as conn:
                Outbox.enqueue(
                    conn,
                    type=OpType.VISIT,
                    entity_id=uuid.UUID(int=1),
                    payload=VisitPayload(method=IdentifierKind.PHONE),
                    operator_id="bench",
                )

        enqueue_figures = timed(args.samples, enqueue)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
        db.close()

    print(
        json.dumps(
            {
                "customers": total,
                "pull_page": args.page,
                "first_pull_customers_per_s": round(total / (parse_s + store_s)),
                "cache_store_customers_per_s": round(total / store_s),
                "cache_store_customers_per_cpu_s": round(total / store_cpu_s),
                "first_pull_target_per_s": 20_000,
                "load_average_1m": round(os.getloadavg()[0], 2),
                "rss_after_load_mb": round(rss_after_load, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_target_mb": 150,
                "database_mb": round(size_mb, 1),
                "lookup": lookups,
                "lookup_target_p95_ms": 20,
                "enqueue_durable": enqueue_figures,
                "enqueue_target_p95_ms": 5,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
