"""`tillcrm crm serve` as an operator runs it, in a subprocess on each database kind: its
stderr is JSON lines, one per request with its id (the caller's, echoed back, or a new one),
method, path, status, duration and till, and a refusal's reason; and no enrollment code,
token, card number or PIN that passed through it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.crm_server import RunningCrm, database_kinds, free_port, fresh_database
from tests.support.customers import put_customer
from tests.support.outbox import Outbox, sale
from tests.support.world import CASHIER_PIN, World, build_world
from tillcrm.api import OpType
from tillcrm.server import admin
from tillcrm.server.db import create_db_engine, writing
from tillcrm.server.pages_ahead import PagesAhead

PAN = "4111111111111111"


def _lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of the CRM's stderr, each of which must be one JSON object."""
    return [json.loads(line) for line in stderr.splitlines()]


@dataclass
class ServedCrm:
    """`tillcrm crm serve` in a subprocess, with the test world loaded into its database."""

    child: subprocess.Popen[str]
    stderr: str
    """Its stderr: the lines until it served, and all of it once stopped."""
    world: World = field(init=False)

    def stop(self) -> str:
        """Stop it as Ctrl+C does (once); its whole stderr."""
        if self.child.returncode is None:
            self.child.send_signal(signal.SIGINT)
            _, rest = self.child.communicate(timeout=60)
            self.stderr += rest
        return self.stderr


@pytest.fixture(params=database_kinds())
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServedCrm]:
    """The CRM served on a fresh database of each kind, stopped after the test."""
    with fresh_database(request.param, tmp_path) as db_url:
        port = free_port()
        child = subprocess.Popen(
            [sys.executable, "-m", "tillcrm", "crm", "serve", "--db", db_url, "--port", str(port)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert child.stderr is not None
        started = [child.stderr.readline()]  # a line per step of start-up, until it serves
        while "Uvicorn running on" not in started[-1] and started[-1]:
            started.append(child.stderr.readline())
        served = ServedCrm(child, "".join(started))
        engine = create_db_engine(db_url)
        try:
            assert started[-1], f"the CRM stopped while starting: {served.stop()}"
            served.world = build_world(
                RunningCrm(f"http://127.0.0.1:{port}", db_url, engine, PagesAhead())
            )
            yield served
        finally:
            served.stop()
            engine.dispose()


def test_each_request_is_one_json_line_without_secrets(served: ServedCrm) -> None:
    world = served.world
    with writing(world.crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, "brand-a-store")
    customer = put_customer(world, "brand")
    with world.crm.client() as anonymous:
        enrolled = anonymous.post(
            "/tills/enroll",
            json={"code": code, "name": "logged till"},
            headers={"X-Request-Id": "support-42"},
        )
        assert enrolled.status_code == 201
        assert enrolled.headers["X-Request-Id"] == "support-42"
        token = enrolled.json()["token"]
        refused = anonymous.get("/tills/me", headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401
        invalid = anonymous.post("/tills/enroll", json={"code": 7})
        assert invalid.status_code == 422
        forged = anonymous.get("/health", headers={"X-Request-Id": 'x" level="error'})
    with world.crm.client(token) as till:
        looked_up = till.get("/identify", params={"kind": "magstripe", "value": PAN})
    with Outbox(world, "brand.a") as outbox:
        assert outbox.apply(outbox.op(OpType.SALE, customer, sale(("cash", 500))))

    text = served.stop()
    lines = _lines(text)
    requests = {line["request_id"]: line for line in lines if "request_id" in line}
    assert requests["support-42"] | {"duration_ms": 0} == {
        "time": requests["support-42"]["time"],
        "level": "info",
        "logger": "tillcrm.server.requests",
        "message": "POST /v1/tills/enroll 201",
        "request_id": "support-42",
        "method": "POST",
        "path": "/v1/tills/enroll",
        "status": 201,
        "duration_ms": 0,
        "till_id": None,
    }
    by_id = {r.headers["X-Request-Id"]: r for r in (refused, invalid, forged, looked_up)}
    assert set(by_id) <= set(requests)
    assert forged.headers["X-Request-Id"] != 'x" level="error'
    assert requests[refused.headers["X-Request-Id"]]["reason"] == (
        "unauthorized: this till is not authorized: unknown or revoked token"
    )
    assert requests[invalid.headers["X-Request-Id"]]["reason"].startswith("invalid: code")
    identify = requests[looked_up.headers["X-Request-Id"]]
    till_id = enrolled.json()["context"]["till_id"]
    assert (identify["path"], identify["till_id"]) == ("/v1/identify", till_id)
    push = [line for line in lines if line.get("path") == "/v1/sync/push"]
    assert [(line["status"], line["till_id"]) for line in push] == [(200, outbox.till_id)]
    for secret in (code, token, PAN, CASHIER_PIN, *world.tokens.values()):
        assert secret not in text
