"""`tillcrm demo`: try the whole till with nothing installed but tillcrm.

One command asks which demo store to be (`--store`, else a picker), starts the reference CRM
on a free loopback port in a throwaway folder with the demo data, enrolls a till at that
store, opens simulated readers on pseudo-terminals, and runs the till's UI over them, with
function keys that present that store's demo cards to the readers. Quitting (Ctrl+Q or
Ctrl+C) stops the UI, the readers and the CRM, and removes the folder.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.cli.crm import KNOWN_DEMO_CUSTOMERS, _require_server_extra
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

    from tillcrm.cli.demo_app import DemoCard
    from tillcrm.screens.store_picker import StoreChoice
    from tillcrm.server.demo_data import DemoStore

__all__ = [
    "PAYMENT_TRACK1",
    "DemoCrm",
    "demo",
    "demo_cards",
    "demo_crm",
    "demo_store",
    "store_choices",
]

TILL_NAME = "Demo till"

PAYMENT_TRACK1 = "B4111111111111111^DEMO/CARD^3012101"
"""Track 1 of a payment card (the well-known Visa test number): the till must refuse it."""

_STARTUP_SECONDS = 30


@click.command()
@click.option(
    "--customers",
    type=click.IntRange(KNOWN_DEMO_CUSTOMERS, 1_000_000),
    default=2_000,
    show_default=True,
    help=(
        f"Demo customers to load (the first {KNOWN_DEMO_CUSTOMERS} are the well-known ones "
        "the card keys present)."
    ),
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's databases here (default: a temporary folder removed on exit).",
)
@click.option(
    "--store",
    "store_id",
    default=None,
    metavar="STORE",
    help="Be the till of this demo store (default: choose from a list).",
)
@pass_cli
def demo(cli: CliContext, customers: int, data_dir: Path | None, store_id: str | None) -> None:
    """Run the till of a demo store against a demo CRM with simulated card readers."""
    _require_server_extra()
    from tillcrm.screens.store_picker import StorePicker
    from tillcrm.server import demo_data

    if store_id is None:
        store_id = StorePicker(store_choices()).run()
        if store_id is None:
            return
    store = demo_store(store_id)
    start_till_logging(cli.settings.logs)
    with ExitStack() as stack:
        folder = data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="tillcrm-demo-"))
        )
        (folder / "ports").mkdir(parents=True, exist_ok=True)
        click.echo(f"starting the demo CRM with {customers:,} customers...", err=True)
        crm = stack.enter_context(demo_crm(folder / "crm.sqlite3", customers))
        url, code = crm.url, crm.enrollment_code(store.id)
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
            f"Demo at {store.name}: "
            f"cashier {demo_data.CASHIER_CODE} / PIN {demo_data.CASHIER_PIN}, "
            f"supervisor {demo_data.SUPERVISOR_CODE} / PIN {demo_data.SUPERVISOR_PIN}. "
            "Ctrl+Q quits."
        )
        asyncio.run(_enroll_and_serve(settings, url, code, demo_cards(readers, store), note))


def store_choices() -> list[StoreChoice]:
    """The demo stores as the picker lists them."""
    from tillcrm.screens.store_picker import StoreChoice
    from tillcrm.server import demo_data

    return [
        StoreChoice(store.id, store.name, store.org.org.name, store.framework)
        for store in demo_data.DEMO_STORES
    ]


def demo_store(store_id: str) -> DemoStore:
    """The demo store `store_id`; a usage error listing the stores when there is none."""
    from tillcrm.server import demo_data

    store = demo_data.DEMO_STORE_BY_ID.get(store_id)
    if store is None:
        known = "\n".join(
            f"  {choice.id:<24} {choice.name} ({choice.framework})" for choice in store_choices()
        )
        raise click.BadParameter(
            f"there is no demo store {store_id!r}; the demo stores are:\n{known}",
            param_hint="'--store'",
        )
    return store


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


def demo_cards(readers: Mapping[DeviceKind, SimulatedReader], store: DemoStore) -> list[DemoCard]:
    """The function keys of the demo's card panel, each presenting one of `store`'s demo
    cards to its reader: its demo customer's card three ways, a payment card, the customer's
    blocked old card, a go-green and an inactive customer, and the supervisor's badge."""
    from tillcrm.cli.demo_app import DemoCard
    from tillcrm.server import demo_data

    scanner = readers[DeviceKind.BARCODE]
    stripe = readers[DeviceKind.MAGSTRIPE]
    tags = readers[DeviceKind.CONTACTLESS]
    star, green, inactive = store.customer, store.go_green, store.inactive
    blocked = star.blocked_barcode or demo_data.DEMO_BLOCKED_BARCODE
    return [
        DemoCard("f5", f"scan {star.first_name}'s card", lambda: scanner.scan(star.barcode)),
        DemoCard("f6", "swipe it", lambda: stripe.swipe(track2=star.magstripe)),
        DemoCard("f7", "tap it", lambda: tags.tap(star.rfid)),
        DemoCard("f8", "payment card", lambda: stripe.swipe(track1=PAYMENT_TRACK1)),
        DemoCard("f9", "blocked card", lambda: scanner.scan(blocked)),
        DemoCard("f10", f"{green.first_name}: go-green", lambda: scanner.scan(green.barcode)),
        DemoCard("f11", f"{inactive.first_name}: inactive", lambda: scanner.scan(inactive.barcode)),
        DemoCard(
            "f12",
            "supervisor badge",
            lambda: stripe.swipe(track1=f"A{demo_data.SUPERVISOR_BADGE}"),
            in_dialogs=True,
        ),
    ]


@dataclass(frozen=True)
class DemoCrm:
    """The demo's running CRM: where it serves, and enrollment codes for its stores."""

    url: str
    engine: Engine

    def enrollment_code(self, store_id: str) -> str:
        """A one-time code that enrolls one till at the demo store `store_id`."""
        from tillcrm.server import admin
        from tillcrm.server.db import writing

        with writing(self.engine) as conn:
            return admin.issue_enrollment_code(conn, store_id)


@contextmanager
def demo_crm(path: Path, customers: int) -> Iterator[DemoCrm]:
    """The reference CRM on a free loopback port over a SQLite file loaded with the demo
    data, until the context ends."""
    import uvicorn

    from tillcrm.server import demo_data
    from tillcrm.server.app import create_app

    app = create_app(f"sqlite:///{path}")
    engine: Engine = app.state.engine
    try:
        with suppress(demo_data.DemoAlreadyLoadedError):  # a kept --data-dir, run again
            demo_data.load_demo_data(engine, customers_count=customers)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="tillcrm-demo-crm", daemon=True)
        thread.start()
        try:
            port = _wait_for_port(server, thread)
            yield DemoCrm(f"http://127.0.0.1:{port}", engine)
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
