"""What every full screen of the till has: the status bar on top and the key bar at the bottom.

A cashier must see on every screen who is logged in, whether the till is offline, how much
waits to sync and whether the readers work, and which keys do what; dialogs (modal screens)
sit over a screen that shows all this. The status bar follows the app's state by itself; a
`panel` the app hands down (the demo's card keys) sits above the key bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget

from tillcrm.widgets.key_bar import KeyBar
from tillcrm.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tillcrm.app import TillApp

__all__ = ["TillScreen"]

R = TypeVar("R")


class TillScreen(Screen[R]):
    """A full screen: subclasses compose their body in `compose_body`."""

    panel: Callable[[], Widget] | None = None
    """Builds a widget shown under the body (set by the app before the screen is composed)."""

    @property
    def till_app(self) -> TillApp:
        """The app, typed."""
        return cast("TillApp", self.app)

    def compose(self) -> ComposeResult:
        """Status bar, the screen's body, the app's panel, key bar."""
        yield StatusBar()
        yield from self.compose_body()
        if self.panel is not None:
            yield self.panel()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()
