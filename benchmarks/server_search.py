"""Latency of customer search (`GET /v1/customers?q=`) on a large CRM, per kind of query.

The CRM runs as `tillcrm crm serve` in its own process on a free loopback port, on a fresh
SQLite file (with `--pg URL`, also on a fresh PostgreSQL database, dropped afterwards), loaded
with `--customers` demo customers (`tillcrm crm demo-data`'s loader). A till enrolled at the
demo store then searches for customers of its scope picked at random (fixed seed): a whole
last name, a piece of the middle of a name, the start of an e-mail address, a piece of a
customer number, a text nobody has, and a 2-character text (the short-query path). Each
request is timed over HTTP, one at a time. Prints JSON with p50 / p95 / max in ms per kind:

    {"sqlite": {"customers": ..., "queries": {"last_name": {"p50_ms": ..., "p95_ms": ...}}}}

Run: .venv/bin/python benchmarks/server_search.py [--customers 1000000] [--per-kind 50]
     [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from _crm import fresh_postgres, served
from tillcrm.server import admin
from tillcrm.server import demo_data as demo
from tillcrm.server.db import create_db_engine, reading, writing
from tillcrm.server.migrate import upgrade
from tillcrm.server.tables import brands, customers, stores

SEED = 7


def _middle(text: str, length: int, pick: random.Random) -> str:
    if len(text) <= length:
        return text
    start = pick.randrange(0, len(text) - length + 1)
    return text[start : start + length]


def _queries(db_url: str, per_kind: int) -> tuple[str, dict[str, list[str]]]:
    """An enrollment code at the demo store, and the texts to search for, by kind."""
    engine = create_db_engine(db_url)
    pick = random.Random(SEED)
    try:
        with writing(engine) as conn:
            code = admin.issue_enrollment_code(conn, demo.DEMO_STORE_ID)
        with reading(engine) as conn:
            org_id = conn.execute(
                sa.select(brands.c.org_id)
                .join(stores, stores.c.brand_id == brands.c.id)
                .where(stores.c.id == demo.DEMO_STORE_ID)
            ).scalar_one()
            total = conn.execute(
                sa.select(sa.func.max(customers.c.change_seq)).where(customers.c.org_id == org_id)
            ).scalar_one()
            found: list[Any] = []
            while len(found) < per_kind:
                seqs = [pick.randrange(1, int(total) + 1) for _ in range(per_kind * 4)]
                found += conn.execute(
                    sa.select(
                        customers.c.last_name,
                        customers.c.first_name,
                        customers.c.email,
                        customers.c.customer_number,
                    ).where(
                        customers.c.org_id == org_id,
                        customers.c.change_seq.in_(seqs),
                        customers.c.active.is_(True),
                        customers.c.last_name != "",
                        customers.c.email.is_not(None),
                    )
                ).all()
    finally:
        engine.dispose()
    rows = pick.sample(found, per_kind)
    return code, {
        "last_name": [row.last_name for row in rows],
        "name_piece": [_middle(f"{row.first_name} {row.last_name}", 4, pick) for row in rows],
        "email_start": [row.email[:6] for row in rows],
        "number_piece": [_middle(row.customer_number, 5, pick) for row in rows],
        "nobody": [f"zq{uuid.UUID(int=pick.getrandbits(128)).hex[:6]}" for _ in rows],
        "two_chars": [row.last_name[:2] for row in rows],
    }


def _run(db_url: str, workdir: Path, count: int, per_kind: int) -> dict[str, Any]:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    began = time.perf_counter()
    try:
        demo.load_demo_data(engine, customers_count=count, seed=1)
    finally:
        engine.dispose()
    load_seconds = time.perf_counter() - began
    code, queries = _queries(db_url, per_kind)
    report: dict[str, Any] = {"customers": count, "load_s": round(load_seconds, 1)}
    timings: dict[str, Any] = {}
    with served(db_url, workdir) as root, httpx.Client(base_url=f"{root}/v1", timeout=300) as http:
        enrolled = http.post("/tills/enroll", json={"code": code, "name": "Search bench"})
        enrolled.raise_for_status()
        http.headers["Authorization"] = f"Bearer {enrolled.json()['token']}"
        http.get("/customers", params={"q": "warm"}).raise_for_status()
        for kind, texts in queries.items():
            seconds, hits = [], 0
            for text in texts:
                asked = time.perf_counter()
                answer = http.get("/customers", params={"q": text})
                answer.raise_for_status()
                seconds.append(time.perf_counter() - asked)
                hits += bool(answer.json()["items"])
            seconds.sort()
            timings[kind] = {
                "p50_ms": round(statistics.median(seconds) * 1000, 1),
                "p95_ms": round(seconds[int(len(seconds) * 0.95) - 1] * 1000, 1),
                "max_ms": round(seconds[-1] * 1000, 1),
                "found": f"{hits}/{len(texts)}",
            }
    report["queries"] = timings
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--per-kind", type=int, default=50)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a fresh db is made)")
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tillcrm-search-") as tmp:
        workdir = Path(tmp)
        if not args.skip_sqlite:
            url = f"sqlite:///{workdir / 'crm.sqlite3'}"
            report["sqlite"] = _run(url, workdir, args.customers, args.per_kind)
        if args.pg:
            with fresh_postgres(args.pg) as url:
                report["postgresql"] = _run(url, workdir, args.customers, args.per_kind)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
