"""The durable outbox: how long one enqueue takes, and how fast one till drains it to the CRM.

A real CRM runs as `tillcrm crm serve` in its own process on a free loopback port, on a fresh
SQLite file with the demo data; a till enrolls at the demo store, pulls its scope and its
operators, and a cashier logs in. Then, on the till's real database file (WAL,
`synchronous=FULL`, every commit fsynced):

- `enqueue`: one op appended in its own write transaction (`TillDatabase.write` +
  `Outbox.enqueue`), the durable path every till write takes;
- `sale`: a whole offline cash sale through `TillService.sale` (cache read, limit checks, the
  op and the cache change in one transaction), what the cashier waits for before "saved";
- `drain`: all those ops pushed by a fresh `SyncEngine` (default settings, batches of 200)
  through `CrmClient` until the queue is empty, the CRM applying each op in its own
  transaction; every op must come back applied.

Latencies in milliseconds (p50, p95, p99, max), drain in ops/s. Prints JSON.

    .venv/bin/python benchmarks/outbox.py [--ops 2000] [--customers 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from _crm import demo_crm, served
from tillcrm.api import OpType, SaleLineTender, SalePayload
from tillcrm.config import Settings, SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.domain import TenderKind, TransactionLine
from tillcrm.local import OpState, Outbox, TillDatabase, open_database
from tillcrm.server import demo_data as demo
from tillcrm.sync import SyncEngine
from tillcrm.till import Saved, TillService


def _millis(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    centiles = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(centiles[49] * 1000, 3),
        "p95_ms": round(centiles[94] * 1000, 3),
        "p99_ms": round(centiles[98] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "n": len(ordered),
    }


def _enqueue(db: TillDatabase, customer: UUID, ops: int) -> list[float]:
    """`ops` cash sales appended one durable transaction each; the time of each."""
    line = TransactionLine(description="Draft beer", quantity=2, unit_price=900)
    samples = []
    for _ in range(ops):
        payload = SalePayload(
            transaction_id=uuid4(),
            lines=[line],
            tenders=[SaleLineTender(kind=TenderKind.CASH, amount=line.total)],
        )
        began = time.perf_counter()
        with db.write() as conn:
            Outbox.enqueue(
                conn,
                type=OpType.SALE,
                entity_id=customer,
                payload=payload,
                operator_id=f"{demo.DEMO_ORGS[0].org.id}-cashier",
            )
        samples.append(time.perf_counter() - began)
    return samples


async def _sales(till: TillService, customer: UUID, ops: int) -> list[float]:
    """`ops` offline cash sales through the facade; the time of each, until "saved"."""
    line = TransactionLine(description="Hot dog", unit_price=650)
    tenders = [SaleLineTender(kind=TenderKind.CASH, amount=line.total)]
    samples = []
    for _ in range(ops):
        began = time.perf_counter()
        saved = await till.sale(customer, [line], tenders)
        samples.append(time.perf_counter() - began)
        if not isinstance(saved, Saved):
            raise RuntimeError(f"the sale was not saved: {saved}")
    return samples


async def _bench(base: str, code: str, workdir: Path, ops: int) -> dict[str, Any]:
    async with CrmClient(base) as anonymous:
        enrolled = await anonymous.enroll(code, "Outbox bench")
    db = open_database(workdir / "till.sqlite3")
    settings = Settings(data_dir=workdir)
    try:
        async with CrmClient(base, token=enrolled.token, read_timeout=120) as client:
            await SyncEngine(db, client, settings.sync).pull_once()
            online = TillService(db, enrolled.context, settings, client)
            if not await online.refresh_operators():
                raise RuntimeError("the CRM's operators did not load")
        customer = UUID(db.read("SELECT id FROM customers WHERE active LIMIT 1")[0][0])

        enqueue = _enqueue(db, customer, ops)
        offline = TillService(db, enrolled.context, settings, None)
        await offline.login(demo.CASHIER_CODE, demo.CASHIER_PIN)
        sale = await _sales(offline, customer, ops)

        outbox = Outbox(db)
        queued = outbox.depth()
        async with CrmClient(base, token=enrolled.token, read_timeout=120) as client:
            engine = SyncEngine(db, client, SyncSettings())
            began, began_cpu = time.perf_counter(), time.process_time()
            while outbox.depth():
                if not await engine.push_once():
                    raise RuntimeError(f"the drain stalled: {engine.status().problem}")
            seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if outbox.count(OpState.ACKED) != queued:
            raise RuntimeError("not every op was acked")
    finally:
        db.close()
    return {
        "enqueue": _millis(enqueue),
        "sale": _millis(sale),
        "drain": {
            "ops": queued,
            "seconds": round(seconds, 3),
            "till_cpu_seconds": round(cpu, 3),
            "ops_per_s": round(queued / seconds),
            "batch_size": SyncSettings().batch_size,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=2000, help="ops per kind (default 2000)")
    parser.add_argument("--customers", type=int, default=500, help="demo customers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tillcrm-outbox-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'crm.sqlite3'}"
        code = demo_crm(db_url, args.customers)
        with served(db_url, workdir) as base:
            result = asyncio.run(_bench(base, code, workdir, args.ops))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
