"""Driving a real till under Pilot: the app `create_app` builds over a till's parts, the
operators the tests log in as, and waiting until the app shows what a test expects.

Type into inputs by setting their value: keys pressed by Pilot arrive faster than any person
types and would be taken for a keyboard-wedge scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.support.world import CASHIER_PIN
from tillcrm.api import TillContext
from tillcrm.app import TillApp
from tillcrm.cli.run import create_app
from tillcrm.config import DeviceKind, Settings
from tillcrm.crm import CrmClient
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.local import TillDatabase

SIZE = (100, 30)
CASHIER = "brand-100"
SUPERVISOR = "brand-900"


@dataclass
class TuiTill:
    """Everything `create_app` needs, and the simulated readers the till reads."""

    settings: Settings
    db: TillDatabase
    context: TillContext
    client: CrmClient
    readers: dict[DeviceKind, SimulatedReader] = field(default_factory=dict)

    def app(self, **kwargs: Any) -> TillApp:
        """The till's app, exactly as the CLI builds it."""
        return create_app(self.settings, self.db, self.context, self.client, **kwargs)


async def until(pilot: Pilot[Any], condition: Any, what: str, *, limit: int = 300) -> None:
    """Let the app run until `condition()` holds (at most `limit` short pauses)."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def log_in(pilot: Pilot[Any], code: str = CASHIER, pin: str = CASHIER_PIN) -> None:
    """Fill the login form and press Enter in the PIN field."""
    app = pilot.app
    app.screen.query_one("#code", Input).value = code
    pin_input = app.screen.query_one("#pin", Input)
    pin_input.value = pin
    pin_input.focus()
    await pilot.press("enter")


def text_of(screen: Any, widget_id: str) -> str:
    """What the `Static` with `widget_id` under `screen` (or any widget) shows the cashier now:
    the one place that knows which Textual attribute holds a label's text."""
    return str(screen.query_one(widget_id, Static).content)
