"""`tillcrm demo`: try the whole till with nothing installed but tillcrm.

One command starts the reference CRM on a free loopback port in a throwaway folder with the
demo data, enrolls a till at the demo store, opens simulated readers on pseudo-terminals, and
runs the till's UI over them, with function keys that present the demo cards to the readers.
Quitting (Ctrl+Q or Ctrl+C) stops the UI, the readers and the CRM, and removes the folder.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.cli.crm import _require_server_extra
from tillcrm.cli.run import serve_till
from tillcrm.config import (
    CrmSettings,
    DeviceKind,
    PrinterKind,
    PrinterSettings,
    Settings,
    TillSettings,
)
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.logs import start_till_logging

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy.engine import Engine

    from tillcrm.screens.card_panel import DemoCard

__all__ = ["PAYMENT_TRACK1", "demo", "demo_cards", "demo_crm"]

TILL_NAME = "Demo till"

PAYMENT_TRACK1 = "B4111111111111111^DEMO/CARD^3012101"
"""Track 1 of a payment card (the well-known Visa test number): the till must refuse it."""

_STARTUP_SECONDS = 30


@click.command()
@click.option(
    "--customers",
    type=click.IntRange(8, 1_000_000),
    default=2_000,
    show_default=True,
    help="Demo customers to load (the first 8 are the well-known ones the card keys present).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's databases here (default: a temporary folder removed on exit).",
)
@pass_cli
def demo(cli: CliContext, customers: int, data_dir: Path | None) -> None:
    """Run the till against a demo CRM with simulated card readers."""
    _require_server_extra()
    from tillcrm.server import demo_data

    start_till_logging(cli.settings.logs)
    with ExitStack() as stack:
        folder = data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="tillcrm-demo-"))
        )
        (folder / "ports").mkdir(parents=True, exist_ok=True)
        click.echo(f"starting the demo CRM with {customers:,} customers...", err=True)
        url, code = stack.enter_context(demo_crm(folder / "crm.sqlite3", customers))
        readers = {
            kind: stack.enter_context(SimulatedReader.open(kind, directory=folder / "ports"))
            for kind in DeviceKind
        }
        settings = cli.settings.model_copy(
            update={
                "data_dir": folder / "till",
                "crm": CrmSettings(url=url),
                "devices": [reader.settings() for reader in readers.values()],
                "printer": PrinterSettings(
                    kind=PrinterKind.FILE, device=str(folder / "receipt.bin")
                ),
            }
        )
        note = (
            f"Demo: cashier {demo_data.CASHIER_CODE} / PIN {demo_data.CASHIER_PIN}, "
            f"supervisor {demo_data.SUPERVISOR_CODE} / PIN {demo_data.SUPERVISOR_PIN}. "
            "Ctrl+Q quits."
        )
        asyncio.run(_enroll_and_serve(settings, url, code, demo_cards(readers), note))


async def _enroll_and_serve(
    settings: Settings, url: str, code: str, cards: list[DemoCard], note: str
) -> None:
    async with CrmClient(url) as anonymous:
        enrolled = await anonymous.enroll(code, TILL_NAME)
    till = TillSettings(id=enrolled.context.till_id, name=TILL_NAME)
    await serve_till(
        settings.model_copy(update={"till": till}),
        CrmClient(url, token=enrolled.token),
        cards=cards,
        note=note,
        ctrl_c_quits=True,
    )


def demo_cards(readers: Mapping[DeviceKind, SimulatedReader]) -> list[DemoCard]:
    """The function keys of the demo's card panel, each presenting a card to its reader."""
    from tillcrm.screens.card_panel import DemoCard
    from tillcrm.server import demo_data

    scanner = readers[DeviceKind.BARCODE]
    stripe = readers[DeviceKind.MAGSTRIPE]
    tags = readers[DeviceKind.CONTACTLESS]
    maya = demo_data.DEMO_CUSTOMERS[0]
    return [
        DemoCard("f5", f"scan {maya.first_name}'s card", lambda: scanner.scan(maya.barcode)),
        DemoCard("f6", "swipe it", lambda: stripe.swipe(track2=maya.magstripe)),
        DemoCard("f7", "tap it", lambda: tags.tap(maya.rfid)),
        DemoCard("f8", "payment card", lambda: stripe.swipe(track1=PAYMENT_TRACK1)),
        DemoCard("f9", "blocked card", lambda: scanner.scan(demo_data.DEMO_BLOCKED_BARCODE)),
        DemoCard(
            "f12",
            "supervisor badge",
            lambda: stripe.swipe(track1=f"A{demo_data.SUPERVISOR_BADGE}"),
        ),
    ]


@contextmanager
def demo_crm(path: Path, customers: int) -> Iterator[tuple[str, str]]:
    """The reference CRM on a free loopback port over a SQLite file loaded with the demo data;
    yields its URL and a one-time enrollment code for the demo store."""
    import uvicorn

    from tillcrm.server import admin, demo_data
    from tillcrm.server.app import create_app
    from tillcrm.server.db import writing

    app = create_app(f"sqlite:///{path}")
    engine: Engine = app.state.engine
    try:
        with suppress(demo_data.DemoAlreadyLoadedError):  # a kept --data-dir, run again
            demo_data.load_demo_data(engine, customers_count=customers)
        with writing(engine) as conn:
            code = admin.issue_enrollment_code(conn, demo_data.DEMO_STORE_ID)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="tillcrm-demo-crm", daemon=True)
        thread.start()
        try:
            port = _wait_for_port(server, thread)
            yield f"http://127.0.0.1:{port}", code
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        engine.dispose()


def _wait_for_port(server: uvicorn.Server, thread: threading.Thread) -> int:
    """The port uvicorn bound (asked for port 0: any free one), once it serves."""
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise click.ClickException("the demo CRM did not start")
        time.sleep(0.01)
    return int(server.servers[0].sockets[0].getsockname()[1])
