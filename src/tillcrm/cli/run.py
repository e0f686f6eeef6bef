"""`tillcrm` with no sub-command: the production till, as its config describes it.

The till's database is opened under its lock, the CRM client holds the till's token, and the
till's context (organization, brand, store) comes from the CRM. The context is also kept in the
data dir, so a till that starts while the CRM is down still knows where it stands and works
from its cache. Textual is imported only here, when the till itself runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tillcrm.api import TillContext
from tillcrm.cli._context import CliContext
from tillcrm.cli._till import crm_client, writable_database
from tillcrm.config import Settings
from tillcrm.crm import CrmClient, CrmError

if TYPE_CHECKING:
    from tillcrm.screens.card_panel import DemoCard

__all__ = ["CONTEXT_FILE", "run_till", "serve_till", "till_context"]

CONTEXT_FILE = "till-context.json"
"""The till's last known context, in `data_dir`, for starting offline."""


def run_till(cli: CliContext) -> None:
    """Run the till of the config until the cashier quits."""
    settings = cli.settings
    if not settings.till.id:
        raise click.ClickException(
            "this till is not registered: run `tillcrm register --crm-url URL --code CODE` "
            "(or try everything with `tillcrm demo`)"
        )
    asyncio.run(serve_till(settings, crm_client(settings)))


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
    from tillcrm.app import create_app

    async with client:
        context = await till_context(settings, client)
        with writable_database(settings) as db:
            app = create_app(
                settings, db, context, client, cards=cards, note=note, ctrl_c_quits=ctrl_c_quits
            )
            await app.run_async()


async def till_context(settings: Settings, client: CrmClient) -> TillContext:
    """The till's context from the CRM (and kept for next time), else the one kept last time."""
    kept = Path(settings.data_dir) / CONTEXT_FILE
    try:
        context = await client.me()
    except CrmError as exc:
        if not kept.exists():
            raise click.ClickException(
                f"the CRM cannot be reached ({exc}) and this till has never reached it: "
                f"check [crm] url ({settings.crm.url}) and run `tillcrm doctor`"
            ) from exc
        return TillContext.model_validate_json(kept.read_text())
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(context.model_dump_json())
    return context
