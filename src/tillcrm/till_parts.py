"""What the till's app is built over, and the modules it imports once the till is open.

The app paints its login form with only Textual imported; the parts (config, database,
context, CRM client) are handed over ready (`tillcrm.cli.run.create_app`: the demo and the
tests) or opened by an `Opener` behind the form (the production till), while the rest of the
till is imported in a thread. No Textual here, so the CLI and the tests name these freely.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tillcrm.api import TillContext
    from tillcrm.app import TillApp
    from tillcrm.config import Settings
    from tillcrm.crm import CrmClient
    from tillcrm.local import TillDatabase

__all__ = ["Opener", "TillParts", "import_after_login"]

_AFTER_LOGIN = (
    "tillcrm.till",
    "tillcrm.sync",
    "tillcrm.devices",
    "tillcrm.devices.printer",
    "tillcrm.widgets.money",
    "tillcrm.widgets.wedge",
    "tillcrm.screens.identify",
    "tillcrm.screens.profile.screen",
    "tillcrm.screens.devices",
    "tillcrm.screens.sale",
    "tillcrm.screens.customer_form",
    "tillcrm.screens.override",
    "tillcrm.screens.register_here",
    "tillcrm.screens.sync",
)
"""The modules the till needs once open, imported by the app in the opener's thread so the
event loop (and the login form) never waits for them."""


@dataclass(frozen=True)
class TillParts:
    """What the till runs on: its config, its database, its context and its CRM client (None:
    a till with no token, which works from its cache alone)."""

    settings: Settings
    db: TillDatabase
    context: TillContext
    client: CrmClient | None


Opener = Callable[["TillApp"], Awaitable[TillParts]]
"""Opens the till's parts while the login form shows (the production till); what it raises
ends the app and is kept in `TillApp.start_error`."""


def import_after_login() -> None:
    """Import `_AFTER_LOGIN` (run in a thread: Python's import lock keeps it safe)."""
    for module in _AFTER_LOGIN:
        importlib.import_module(module)
