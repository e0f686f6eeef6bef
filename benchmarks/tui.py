"""TUI benchmark: scan to profile on screen with the CRM offline, and cold start vs bare Textual.

Scan to profile: a till database holding `--customers` cached customers (filled the way a pull
fills it, as in `local_search.py`), a CRM nobody answers, the real app from `create_app`
(headless, 100x30) with a simulated barcode reader on a pseudo-terminal. Each sample starts at
the identify screen, writes one barcode frame to the reader's pty, and stops the clock when the
profile screen showing that customer has been painted (`call_after_refresh`). Target p95 < 50 ms.

Cold start: a fresh interpreter, from process start to the identify screen painted (logging in
offline from the cached operator), as a ratio to a fresh interpreter painting a bare Textual app
with a header, an input and a table. Medians of `--starts` runs each. Target ratio < 1.5.

    .venv/bin/python benchmarks/tui.py [--customers N] [--samples N] [--starts N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from local_search import customer, page_json, percentiles
from tillcrm.api import PullResponse, TillContext
from tillcrm.config import DeviceKind, Settings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain import Brand, Operator, Organization, Role, Store, hash_pin
from tillcrm.local import CustomerCache, Meta, OperatorStore, PinPolicy, open_database

PIN = "1111"
SIZE = (100, 30)
CONTEXT = TillContext(
    till_id="till-bench",
    till_name="Bench till",
    store=Store(id="bench-a-store", brand_id="bench-a", name="Bench store"),
    brand=Brand(id="bench-a", org_id="org-bench", name="Bench brand"),
    organization=Organization(id="org-bench", name="Bench org"),
)


def dead_crm_url() -> str:
    """A loopback port nobody listens on: the CRM is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def fill(db_path: Path, total: int, page: int = 1000) -> None:
    """`total` customers in the cache, and one cashier with PIN 1111."""
    db = open_database(db_path)
    for start in range(0, total, page):
        wire = page_json(start, min(start + page, total), total)
        response = PullResponse.model_validate_json(wire)
        with db.write() as conn:
            CustomerCache.store(conn, response.customers)
            Meta.set_cursor(conn, response.cursor)
    OperatorStore(db, PinPolicy()).replace_all(
        [
            Operator(id="bench-100", code="100", name="Bench Cashier", pin_hash=hash_pin(PIN)),
            Operator(
                id="bench-900",
                code="900",
                name="Bench Supervisor",
                role=Role.SUPERVISOR,
                pin_hash=hash_pin("9999"),
            ),
        ]
    )
    db.close()


async def scan_to_profile(
    db_path: Path, total: int, samples: int, *, in_place: bool = False
) -> dict[str, Any]:
    """Scan a cached customer's card until their profile is painted: at the identify screen
    (the profile screen is pushed), or `in_place` on the profile screen showing another one."""
    from textual.widgets import Input

    from tillcrm.app import create_app
    from tillcrm.screens.identify import IdentifyScreen

    with tempfile.TemporaryDirectory() as ports:
        reader = SimulatedReader.open(DeviceKind.BARCODE, directory=Path(ports))
        settings = Settings(data_dir=db_path.parent, devices=[reader.settings()])
        db = open_database(db_path)
        client = CrmClient(dead_crm_url(), token="offline", connect_timeout=1)  # noqa: S106
        app = create_app(settings, db, CONTEXT, client)
        loop = asyncio.get_running_loop()
        times: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            while not app.device_states:
                await pilot.pause(0.05)
            app.screen.query_one("#code", Input).value = "100"
            app.screen.query_one("#pin", Input).value = PIN
            app.screen.query_one("#pin", Input).focus()
            await pilot.press("enter")
            while not isinstance(app.screen, IdentifyScreen):
                await pilot.pause(0.01)
            await pilot.pause(0.5)  # the profile screen is composed in the background
            profile = app.profile
            step = max(1, total // (samples + 1))
            for k in range(samples + 5):
                wanted = customer((k * step + 13) % total)
                started = time.perf_counter()
                reader.scan(wanted["identifiers"][0]["value"])
                while not (
                    app.screen is profile
                    and profile.customer is not None
                    and str(profile.customer.id) == wanted["id"]
                ):
                    await asyncio.sleep(0.0005)
                painted: asyncio.Future[float] = loop.create_future()
                app.call_after_refresh(lambda done=painted: done.set_result(time.perf_counter()))
                if k >= 5:  # the first scans warm the caches
                    times.append(await painted - started)
                else:
                    await painted
                await pilot.pause(0.05)
                if not in_place:
                    app.action_home()
                    while app.screen is profile:
                        await pilot.pause(0.01)
        await client.aclose()
        db.close()
        reader.close()
    return {"samples": samples, **percentiles(times), "max_ms": round(max(times) * 1000, 3)}


_TILL_START = """
import time
from pathlib import Path
from textual.widgets import Input
from tillcrm.api import TillContext
from tillcrm.app import create_app
from tillcrm.config import Settings
from tillcrm.crm import CrmClient
from tillcrm.local import open_database
from tillcrm.screens.identify import IdentifyScreen

PIN, SIZE = {pin!r}, {size!r}
db_path = Path({db!r})
app = create_app(
    Settings(data_dir=db_path.parent), open_database(db_path),
    TillContext.model_validate_json({context!r}),
    CrmClient({crm!r}, token="offline", connect_timeout=1),
)

async def auto_pilot(pilot):
    while not app.screen.query("#pin"):
        await pilot.pause(0.005)
    app.call_after_refresh(lambda: print("login", time.time()))
    app.screen.query_one("#code", Input).value = "100"
    app.screen.query_one("#pin", Input).value = PIN
    app.screen.query_one("#pin", Input).focus()
    await pilot.press("enter")
    while not isinstance(app.screen, IdentifyScreen):
        await pilot.pause(0.005)
    app.call_after_refresh(lambda: (print("painted", time.time()), app.exit()))

app.run(headless=True, size=SIZE, auto_pilot=auto_pilot)
"""

_BARE_START = """
import time
from textual.app import App
from textual.widgets import DataTable, Header, Input

class Bare(App):
    def compose(self):
        yield Header()
        yield Input()
        yield DataTable()

app = Bare()

async def auto_pilot(pilot):
    app.call_after_refresh(lambda: (print("painted", time.time()), app.exit()))

app.run(headless=True, size=(100, 30), auto_pilot=auto_pilot)
"""


def cold_start(script: str) -> dict[str, float]:
    """Seconds from starting a fresh interpreter to each moment the script prints
    (`painted`: its last screen; the till also prints `login`: the login screen)."""
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    moments = dict(line.split() for line in out.strip().splitlines() if line.count(" ") == 1)
    return {name: float(at) - started for name, at in moments.items()}


def import_seconds(modules: str) -> float:
    """Seconds a fresh interpreter takes to import `modules` (and start and exit)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {modules}"], check=True, timeout=120)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big" / "till.sqlite3"
        big.parent.mkdir()
        loading = time.perf_counter()
        fill(big, args.customers)
        load_s = time.perf_counter() - loading
        scan = asyncio.run(scan_to_profile(big, args.customers, args.samples))
        scan_in_place = asyncio.run(
            scan_to_profile(big, args.customers, args.samples, in_place=True)
        )

        small = Path(tmp) / "small" / "till.sqlite3"
        small.parent.mkdir()
        fill(small, 100)
        till_script = _TILL_START.format(
            pin=PIN, size=SIZE, db=str(small), context=CONTEXT.model_dump_json(), crm=dead_crm_url()
        )
        bare, till, login = [], [], []
        imports: dict[str, list[float]] = {"textual": [], "tillcrm_app": []}
        for _ in range(args.starts):
            bare.append(cold_start(_BARE_START)["painted"])
            moments = cold_start(till_script)
            till.append(moments["painted"])
            login.append(moments["login"])
            imports["textual"].append(import_seconds("textual.app, textual.widgets"))
            imports["tillcrm_app"].append(import_seconds("tillcrm.app"))
    bare_s, till_s = statistics.median(bare), statistics.median(till)
    print(
        json.dumps(
            {
                "cached_customers": args.customers,
                "cache_fill_s": round(load_s, 1),
                "scan_to_profile_offline": {"from_identify": scan, "in_place": scan_in_place},
                "scan_to_profile_target_p95_ms": 50,
                "cold_start": {
                    "runs": args.starts,
                    "bare_textual_median_s": round(bare_s, 3),
                    "till_to_login_median_s": round(statistics.median(login), 3),
                    "till_to_identify_median_s": round(till_s, 3),
                    "import_median_s": {
                        name: round(statistics.median(times), 3) for name, times in imports.items()
                    },
                    "ratio": round(till_s / bare_s, 2),
                    "ratio_target": 1.5,
                },
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
