"""The key bar: the keys that work on this screen, on one line, the screen's own first.

Textual's `Footer` rebuilds a widget per key whenever the bindings change (each time a screen
is shown, each focus move): on the scan path that rebuild was half the time to the profile.
This bar is one line of text redrawn in place. It also decides what a cashier sees at 80
columns: the screen's actions first, then the focused widget's, then the app's (quit, log out),
and what does not fit is left out rather than cut mid-word.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from textual.app import App
from textual.content import Content
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Static

__all__ = ["KeyBar", "ShownKey"]

_GAP = "  "


class ShownKey(NamedTuple):
    """One key as the bar shows it."""

    key: str
    description: str
    enabled: bool
    action: str | None
    """The action a click runs (namespaced: `screen.` or `app.`), None when not clickable."""

    @property
    def width(self) -> int:
        """Cells the key takes on the bar."""
        return len(self.key) + 1 + len(self.description)


class KeyBar(Static):
    """One line of keys for the screen it is on; docked at the bottom."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom; height: 1; padding: 0 1; text-wrap: nowrap;
        background: $panel; color: $foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="key-bar")
        self.keys: tuple[ShownKey, ...] = ()
        """Every key the screen offers now, most important first (shown or not)."""

    def on_mount(self) -> None:
        """Follow the screen's bindings (focus moves and checks change them)."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        """Stop following."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        """A new width fits another number of keys."""
        self._draw()

    def _bindings_changed(self, screen: Screen[object]) -> None:
        keys = _active_keys(screen)
        if keys != self.keys:
            self.keys = keys
            self._draw()

    @property
    def shown(self) -> tuple[ShownKey, ...]:
        """The keys that fit the bar's width, in order."""
        room = self.content_size.width or self.app.size.width - 2
        fitting: list[ShownKey] = []
        used = 0
        for key in self.keys:
            need = key.width + (len(_GAP) if fitting else 0)
            if used + need > room:
                break
            fitting.append(key)
            used += need
        return tuple(fitting)

    def _draw(self) -> None:
        self.update(_bar(self.shown), layout=False)


@lru_cache(maxsize=64)
def _bar(keys: tuple[ShownKey, ...]) -> Content:
    """The bar's text for `keys`. Remembered: showing a screen again redraws its bar with the
    keys it had before, and parsing the markup was most of a redraw on the scan path."""
    parts = []
    for key in keys:
        style = "b $accent" if key.enabled else "$text-disabled"
        text = f"[{style}]{escape(key.key)}[/] {escape(key.description)}"
        parts.append(f"[@click={key.action}]{text}[/]" if key.action else text)
    return Content.from_markup(_GAP.join(parts))


def _active_keys(screen: Screen[object]) -> tuple[ShownKey, ...]:
    """The screen's shown bindings: the screen's, then the focused widgets', then the app's."""
    app = screen.app
    ranked: list[tuple[int, int, ShownKey]] = []
    seen_actions: set[str] = set()
    for index, (node, binding, enabled, _tooltip) in enumerate(screen.active_bindings.values()):
        if not binding.show or binding.action in seen_actions:
            continue
        seen_actions.add(binding.action)
        if node is screen:
            rank, action = 0, f"screen.{binding.action}"
        elif isinstance(node, App):
            rank, action = 2, f"app.{binding.action}"
        else:
            rank, action = 1, None
        if binding.action.startswith("app."):
            action = binding.action
        shown = ShownKey(app.get_key_display(binding), binding.description, enabled, action)
        ranked.append((rank, index, shown))
    return tuple(key for _, _, key in sorted(ranked, key=lambda item: item[:2]))
