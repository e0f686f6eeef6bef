"""What every full screen of the till has: the status bar on top and the key bar at the bottom.

A cashier must see on every screen who is logged in, whether the till is offline, how much
waits to sync and whether the readers work, and which keys do what; dialogs (modal screens)
sit over a screen that shows all this. The status bar follows the app's state by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.app import ComposeResult
from textual.screen import Screen

from tillcrm.widgets.key_bar import KeyBar
from tillcrm.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tillcrm.app import TillApp

__all__ = ["TillScreen"]

R = TypeVar("R")


class TillScreen(Screen[R]):
    """A full screen: subclasses compose their body in `compose_body`."""

    @property
    def till_app(self) -> TillApp:
        """The app, typed."""
        return cast("TillApp", self.app)

    def compose(self) -> ComposeResult:
        """Status bar, the screen's body, key bar."""
        yield StatusBar()
        yield from self.compose_body()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()
