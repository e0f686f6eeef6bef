"""`tillcrm` with no sub-command: the production till, as its config describes it.

The login form is painted first, with only Textual imported; behind it, `open_till` loads the
config, opens the database under the till lock and a CRM client holding the till's token, and
takes the till's context (organization, brand, store) kept in the data dir from the last time
the CRM answered, refreshing it from the CRM in the background for the next start. So a till
starts at once, and works from its cache while the CRM is down; only a till that has never
reached the CRM waits for it. Whatever stops the till from opening ends the app and is
reported here, once the terminal is restored.

This module is where the TUI starts (the till, the demo, and `create_app` for the tests and
benchmarks), so importing it asks Textual for the till's `FRAME_RATE`: Textual reads
`TEXTUAL_FPS` once, when it is first imported, and nothing here imports it at module level.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tillcrm import FRAME_RATE
from tillcrm.cli._context import CliContext, refuse_config

if TYPE_CHECKING:
    from tillcrm.api import TillContext
    from tillcrm.app import TillApp
    from tillcrm.cli.demo_app import DemoCard
    from tillcrm.config import Settings
    from tillcrm.crm import CrmClient
    from tillcrm.devices.wedge import WedgeDetector
    from tillcrm.local import TillDatabase
    from tillcrm.till_parts import TillParts

__all__ = [
    "CONTEXT_FILE",
    "create_app",
    "kept_context",
    "open_till",
    "run_till",
    "serve_till",
    "till_context",
]

os.environ.setdefault("TEXTUAL_FPS", str(FRAME_RATE))

CONTEXT_FILE = "till-context.json"
"""The till's last known context, in `data_dir`, for starting offline."""


def run_till(cli: CliContext) -> None:
    """Run the till of the config until the cashier quits."""
    asyncio.run(_run_till(cli))


async def _run_till(cli: CliContext) -> None:
    from tillcrm.app import TillApp

    async with AsyncExitStack() as opened:
        app = TillApp(partial(open_till, cli, opened))
        await app.run_async()
    error = app.start_error
    if error is None:
        return
    from tillcrm.config import ConfigError

    if isinstance(error, ConfigError):
        refuse_config(error)
    raise error


async def open_till(cli: CliContext, opened: AsyncExitStack, app: TillApp) -> TillParts:
    """The till's parts, opened behind the login form; `opened` closes them when the app ends.

    Raises `ClickException` naming the fix (not registered, no token, another till process,
    a CRM never reached) and `ConfigError` for a bad config.
    """
    from tillcrm.cli._till import crm_client, writable_database
    from tillcrm.logs import start_till_logging
    from tillcrm.till_parts import TillParts

    settings = await asyncio.to_thread(cli.load_settings)
    start_till_logging(settings.logs)
    if not settings.till.id:
        raise click.ClickException(
            "this till is not registered: run `tillcrm register --crm-url URL --code CODE` "
            "(or try everything with `tillcrm demo`)"
        )
    client = await asyncio.to_thread(crm_client, settings)
    opened.push_async_callback(client.aclose)
    db = await asyncio.to_thread(opened.enter_context, writable_database(settings))
    context = await asyncio.to_thread(kept_context, settings)
    if context is None:
        context = await till_context(settings, client)
    else:
        app.run_worker(till_context(settings, client), name="context", exit_on_error=False)
    return TillParts(settings, db, context, client)


async def serve_till(
    settings: Settings,
    client: CrmClient,
    *,
    cards: Sequence[DemoCard] = (),
    note: str = "",
    ctrl_c_quits: bool = False,
) -> None:
    """Open the database under the till lock and run the app over it; closes `client` after.

    `cards` and `note` are the demo's card panel; `ctrl_c_quits` lets Ctrl+C end a demo (a
    production till ignores it, so a stray key never closes the till mid-shift).
    """
    from tillcrm.cli._till import writable_database

    async with client:
        context = await till_context(settings, client)
        with writable_database(settings) as db:
            app = create_app(
                settings, db, context, client, cards=cards, note=note, ctrl_c_quits=ctrl_c_quits
            )
            await app.run_async()


def create_app(
    settings: Settings,
    db: TillDatabase,
    context: TillContext,
    client: CrmClient | None,
    *,
    cards: Sequence[DemoCard] = (),
    note: str = "",
    ctrl_c_quits: bool = False,
    detector: WedgeDetector | None = None,
) -> TillApp:
    """The till's app on `db`, as the till of `context`, syncing through `client` (None: a
    till with no token, which works from its cache alone) and reading `settings.devices`.

    With `cards`, the demo's app: function keys that present demo cards to the simulated
    readers, on a panel with `note`; `ctrl_c_quits` makes Ctrl+C end the app (the demo);
    `detector` tunes keyboard-wedge detection.
    """
    from tillcrm.app import TillApp
    from tillcrm.till_parts import TillParts

    parts = TillParts(settings, db, context, client)
    if not cards:
        return TillApp(parts, ctrl_c_quits=ctrl_c_quits, detector=detector)
    from tillcrm.cli.demo_app import DemoTillApp

    return DemoTillApp(parts, cards=cards, note=note, ctrl_c_quits=ctrl_c_quits, detector=detector)


def kept_context(settings: Settings) -> TillContext | None:
    """The context kept the last time the CRM answered, None when it never has."""
    from tillcrm.api import TillContext

    kept = Path(settings.data_dir) / CONTEXT_FILE
    if not kept.exists():
        return None
    return TillContext.model_validate_json(kept.read_text())


async def till_context(settings: Settings, client: CrmClient) -> TillContext:
    """The till's context from the CRM (and kept for next time), else the one kept last time."""
    from tillcrm.crm import CrmError

    try:
        context = await client.me()
    except CrmError as exc:
        kept = kept_context(settings)
        if kept is None:
            raise click.ClickException(
                f"the CRM cannot be reached ({exc}) and this till has never reached it: "
                f"check [crm] url ({settings.crm.url}) and run `tillcrm doctor`"
            ) from exc
        return kept
    path = Path(settings.data_dir) / CONTEXT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(context.model_dump_json())
    return context
