"""The demo's store picker: which demo store's till to be, chosen before the till opens.

`tillcrm demo` without `--store` shows it: every demo store by name, with how its organization
keeps customers, so a person trying tillcrm can see each framework of the seeds from its till.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

__all__ = ["StoreChoice", "StorePicker"]


@dataclass(frozen=True)
class StoreChoice:
    """A store the demo can enroll its till at."""

    id: str
    name: str
    organization: str
    framework: str
    """How the organization keeps customers (brand-scoped, shared pool, org units, ...)."""


class StorePicker(App[str | None]):
    """Lists the stores; Enter returns the chosen store's id, Escape none (the demo ends)."""

    CSS = """
    StorePicker { align: center middle; }
    StorePicker > Vertical {
        width: 96; height: auto; padding: 0 1; border: thick $primary; background: $surface;
    }
    StorePicker OptionList { height: auto; max-height: 16; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+q,ctrl+c", "leave", "Quit", priority=True),
    ]

    def __init__(self, stores: Sequence[StoreChoice]) -> None:
        super().__init__()
        self._stores = tuple(stores)

    def compose(self) -> ComposeResult:
        """A title and one line per store."""
        with Vertical():
            yield Label("Be the till of which demo store? (Enter chooses, Escape quits)")
            yield OptionList(
                *(
                    Option(f"{store.name:<22} {store.organization}: {store.framework}", store.id)
                    for store in self._stores
                ),
                id="stores",
            )

    @on(OptionList.OptionSelected, "#stores")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.exit(event.option.id)

    def action_leave(self) -> None:
        """No store: the demo stops."""
        self.exit(None)
