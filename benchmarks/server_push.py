"""Ops applied per second through `POST /v1/sync/push`: 20 tills pushing sales at once.

The CRM runs as `tillcrm crm serve` in its own process on a free loopback port, on a fresh
SQLite file and, with `--pg URL`, on a fresh PostgreSQL database (dropped afterwards). The demo
data gives it customers; 20 tills enroll through the API at the demo store, and each pushes its
own sales in batches of 200, all tills at the same time. The request bodies are built before the
clock starts, so the figure is the server's. Prints JSON:

    {"sqlite": {"ops_per_s": ..., "ops": ..., "seconds": ...}, "postgresql": {...}}

Run: .venv/bin/python benchmarks/server_push.py [--ops-per-till 1000] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uuid6

from _crm import fresh_postgres, served
from tillcrm.api import (
    Op,
    OpStatus,
    OpType,
    SaleLineTender,
    SalePayload,
    encoded_op,
    push_body,
)
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.server import admin
from tillcrm.server import demo_data as demo
from tillcrm.server.db import create_db_engine, writing
from tillcrm.server.migrate import upgrade
from tillcrm.server.tables import customers

TILLS = 20
BATCH = 200
DEMO_CUSTOMERS = 5_000


def _prepare(db_url: str) -> tuple[list[str], list[list[Any]]]:
    """Demo data, 20 enrollment codes, and each till's own active customers without limits."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        demo.load_demo_data(engine, customers_count=DEMO_CUSTOMERS, seed=1)
        with writing(engine) as conn:
            codes = [admin.issue_enrollment_code(conn, demo.DEMO_STORE_ID) for _ in range(TILLS)]
            rows = conn.execute(
                sa.select(customers.c.id)
                .where(
                    customers.c.brand_id == "demo-arena",
                    customers.c.active.is_(True),
                )
                .order_by(customers.c.customer_number)
            ).all()
    finally:
        engine.dispose()
    well_known = {known.id for known in demo.DEMO_CUSTOMERS}  # they carry limits
    ids = [row.id for row in rows if row.id not in well_known]
    return codes, [ids[till::TILLS] for till in range(TILLS)]


def _bodies(customer_ids: list[Any], ops: int) -> list[bytes]:
    """A till's sales as push request bodies of `BATCH` ops, seq 1..ops."""
    line = TransactionLine(description="Draft beer", quantity=2, unit_price=900)
    now = datetime.now(UTC)
    batches: list[bytes] = []
    for start in range(0, ops, BATCH):
        batch = []
        for seq in range(start + 1, min(start + BATCH, ops) + 1):
            payload = SalePayload(
                transaction_id=uuid6.uuid7(),
                lines=[line],
                tenders=[SaleLineTender(kind=TenderKind.CARD, amount=line.total)],
            )
            batch.append(
                Op(
                    op_id=uuid6.uuid7(),
                    seq=seq,
                    type=OpType.SALE,
                    entity_id=customer_ids[seq % len(customer_ids)],
                    payload=payload.model_dump(mode="json"),
                    local_ts=now,
                    operator_id=f"{demo.DEMO_ORGS[0].org.id}-cashier",
                )
            )
        batches.append(push_body(encoded_op(op) for op in batch))
    return batches


def _run(db_url: str, workdir: Path, ops_per_till: int) -> dict[str, Any]:
    codes, customer_slices = _prepare(db_url)
    with served(db_url, workdir) as root:
        base = f"{root}/v1"
        tokens = []
        with httpx.Client(base_url=base, timeout=60) as http:
            for number, code in enumerate(codes, 1):
                enrolled = http.post(
                    "/tills/enroll", json={"code": code, "name": f"Bench {number}"}
                )
                enrolled.raise_for_status()
                tokens.append(enrolled.json()["token"])
        bodies = [_bodies(slice_, ops_per_till) for slice_ in customer_slices]
        statuses: list[dict[str, int]] = [{} for _ in range(TILLS)]
        start = threading.Barrier(TILLS + 1)

        def till(number: int) -> None:
            headers = {
                "Authorization": f"Bearer {tokens[number]}",
                "Content-Type": "application/json",
            }
            with httpx.Client(base_url=base, headers=headers, timeout=300) as http:
                start.wait()
                counts = statuses[number]
                for body in bodies[number]:
                    answer = http.post("/sync/push", content=body)
                    if answer.is_error:
                        key = f"http {answer.status_code}"
                        counts[key] = counts.get(key, 0) + 1
                        break  # the till's later batches would only meet a gap
                    for result in answer.json()["results"]:
                        counts[result["status"]] = counts.get(result["status"], 0) + 1

        threads = [threading.Thread(target=till, args=(n,)) for n in range(TILLS)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
    if any(key.startswith("http") for counts in statuses for key in counts):
        log = sorted(workdir.glob("serve-*.log"))[-1].read_text().splitlines()
        print("\n".join(["server errors; the CRM's log ends:", *log[-60:]]), file=sys.stderr)
    total: dict[str, int] = {}
    for counts in statuses:
        for status, count in counts.items():
            total[status] = total.get(status, 0) + count
    applied = total.get(OpStatus.APPLIED.value, 0)
    return {
        "ops_per_s": round(applied / seconds, 1),
        "ops": applied,
        "seconds": round(seconds, 3),
        "tills": TILLS,
        "batch": BATCH,
        "statuses": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops-per-till", type=int, default=1_000)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a fresh db is made)")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tillcrm-push-") as tmp:
        workdir = Path(tmp)
        report["sqlite"] = _run(f"sqlite:///{workdir / 'crm.sqlite3'}", workdir, args.ops_per_till)
        if args.pg:
            with fresh_postgres(args.pg) as url:
                report["postgresql"] = _run(url, workdir, args.ops_per_till)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
