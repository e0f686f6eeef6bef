"""The demo's till: the real `TillApp` plus a card panel of function keys that present demo
cards to the simulated readers.

Someone trying tillcrm without hardware presses F5 to scan a loyalty card, F6 to swipe one,
and so on; each key writes a real reader framing to a simulated reader's pseudo-terminal, so
the card travels the same serial path a real one would. The panel sits on the login and home
screens; a production till has neither the keys nor the panel.

Toasts (the app's notifications) dock at the bottom right of a screen, where this panel is:
the panel lifts them above itself so a toast never hides the keys a person is reading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Static

from tillcrm.app import S, TillApp
from tillcrm.till_parts import Opener, TillParts

if TYPE_CHECKING:
    from tillcrm.devices.wedge import WedgeDetector

__all__ = ["CardPanel", "DemoCard", "DemoTillApp"]


@dataclass(frozen=True)
class DemoCard:
    """A function key that presents one demo card: `present` writes it to its reader."""

    key: str
    label: str
    present: Callable[[], None]
    in_dialogs: bool = False
    """Also while a dialog is open (a priority binding; a dialog hides the app's others):
    the supervisor's badge, which the override dialog asks for. Only for a key no screen
    binds, or it would take that key from the screen."""


class CardPanel(Vertical):
    """An optional note, then the demo cards' keys and what each presents, three to a row."""

    DEFAULT_CSS = """
    CardPanel { height: auto; padding: 0 1; border-top: solid $accent; color: $text-muted; }
    CardPanel Grid { grid-size: 3; grid-gutter: 0 2; height: auto; }
    CardPanel Grid > Static { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, cards: Sequence[DemoCard], note: str = "") -> None:
        super().__init__(id="card-panel")
        self._cards = cards
        self._note = note

    def compose(self) -> ComposeResult:
        """The note, then a grid of keys."""
        if self._note:
            yield Static(self._note, markup=False, id="card-note")
        with Grid():
            for card in self._cards:
                yield Static(f"[b]{card.key.upper()}[/b] {escape(card.label)}")

    def on_resize(self, event: events.Resize) -> None:
        """Keep the screen's toasts above the panel (and the key bar under it)."""
        for rack in self.screen.query("ToastRack"):
            rack.styles.margin = (0, 0, self.outer_size.height + 1, 0)


class DemoTillApp(TillApp):
    """The till with the demo's card keys, and their panel (with `note`, the demo's
    operators) on the login and home screens."""

    def __init__(
        self,
        parts: TillParts | Opener,
        *,
        cards: Sequence[DemoCard],
        note: str = "",
        ctrl_c_quits: bool = False,
        detector: WedgeDetector | None = None,
    ) -> None:
        self.cards = tuple(cards)
        self.note = note
        super().__init__(parts, ctrl_c_quits=ctrl_c_quits, detector=detector)
        for card in self.cards:
            # `App.bind` takes no priority; the bindings map it writes to does.
            self._bindings.bind(
                card.key,
                f"present_card({card.key!r})",
                card.label,
                show=False,
                priority=card.in_dialogs,
            )

    def furnish(self, screen: S) -> S:
        """The card panel under the login form and the home screen's search."""
        screen.panel = partial(CardPanel, self.cards, self.note)
        return screen

    def action_present_card(self, key: str) -> None:
        """Present the demo card of function key `key` to its simulated reader."""
        card = next(card for card in self.cards if card.key == key)
        card.present()
