"""The till's status bar: who works where, whether the CRM is reachable, each reader's state,
and while a first full pull loads the cache, how far it is (count, rate, time left).

It is the one place a cashier learns that the till is offline and how much waits to sync, so
offline turns the whole bar the error colour rather than changing one word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

if TYPE_CHECKING:
    from tillcrm.devices.events import LinkState
    from tillcrm.sync import PullProgress, SyncStatus

__all__ = ["StatusBar"]

_LINK_MARKS = {
    "connected": "[$success]●[/]",
    "reconnecting": "[$warning]◌[/]",
    "disconnected": "[$error]✗[/]",
    "error": "[$error]✗[/]",
}
"""A mark per `LinkState` value (the login screen's bar is drawn before the readers' module is
imported)."""


class StatusBar(Vertical):
    """Operator, till and store, and online or offline with the queue depth; then one mark per
    reader, and a progress bar beside them while a full pull runs. Two rows, so a long store
    name still fits beside the sync state at 80 columns.

    The bar watches its app's `place` (till and store), `operator_name`, `sync_status`,
    `pull_progress` and `device_states`: nobody pushes to it, so no screen is missed."""

    DEFAULT_CSS = """
    StatusBar { height: 2; background: $panel; color: $foreground; }
    StatusBar Horizontal { height: 1; }
    StatusBar Static { width: auto; height: 1; padding: 0 1; text-wrap: nowrap; }
    StatusBar #place { width: 1fr; text-overflow: ellipsis; }
    StatusBar #sync { text-style: bold; }
    StatusBar #devices { width: 1fr; color: $text-muted; }
    StatusBar #pull-label, StatusBar #pull-progress { display: none; }
    StatusBar.pulling #pull-label, StatusBar.pulling #pull-progress { display: block; }
    StatusBar #pull-progress { width: auto; padding-right: 1; }
    StatusBar.offline { background: $error; color: $text; }
    StatusBar.offline #devices { color: $text; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._till_name = ""
        self._store_name = ""
        self._operator = ""
        self._sync: SyncStatus | None = None
        self._devices: dict[str, LinkState] = {}
        self._pull: PullProgress | None = None

    def compose(self) -> ComposeResult:
        """Place on the left and sync on the right; the readers below. Composed from the
        app's state now, so the bar is right from its first frame."""
        for name, show in self._follows():
            show(getattr(self.app, name))
        with Horizontal():
            yield Static(self._place_text(), id="place", markup=False)
            yield Static(self._sync_text(), id="sync", markup=False)
        with Horizontal():
            yield Static(self._devices_text(), id="devices")
            yield Static("", id="pull-label", markup=False)
            # The count is in the label: the bar and its time left fit beside it at 80 columns.
            yield ProgressBar(id="pull-progress", show_percentage=False)

    def on_mount(self) -> None:
        """Follow the app's state: shown again at once (a pull's progress bar exists only
        now), then on every change."""
        for name, show in self._follows():
            self.watch(self.app, name, show)

    def _follows(self) -> list[tuple[str, Callable[[Any], None]]]:
        """The app's attributes this bar shows, each with what shows it."""
        return [
            ("place", self._place_changed),
            ("operator_name", self._operator_changed),
            ("sync_status", self._sync_changed),
            ("pull_progress", self._pull_changed),
            ("device_states", self._devices_changed),
        ]

    def _place_changed(self, place: tuple[str, str]) -> None:
        self._till_name, self._store_name = place
        self._update("#place", self._place_text())

    def _operator_changed(self, name: str) -> None:
        self._operator = name
        self._update("#place", self._place_text())

    def _sync_changed(self, status: SyncStatus | None) -> None:
        if status is not None:
            self.show_sync(status)

    def _pull_changed(self, progress: PullProgress | None) -> None:
        if progress is not None:
            self.show_pull(progress)

    def _devices_changed(self, states: dict[str, LinkState]) -> None:
        self._devices = dict(states)
        self._update("#devices", self._devices_text())

    @property
    def sync(self) -> SyncStatus | None:
        """The sync status shown, None before the first one arrives."""
        return self._sync

    @property
    def devices(self) -> dict[str, LinkState]:
        """The state shown for each reader, by name."""
        return dict(self._devices)

    def show_sync(self, status: SyncStatus) -> None:
        """Show a new sync status."""
        self._sync = status
        self.set_class(_known(status) and not status.online, "offline")
        self._update("#sync", self._sync_text())

    def show_pull(self, progress: PullProgress) -> None:
        """Show how far a full pull is; a finished one leaves the bar."""
        self._pull = progress
        self.set_class(not progress.finished, "pulling")
        rate = f" · {progress.rate:,.0f}/s" if progress.rate else ""
        self._update("#pull-label", f"loading {progress.done:,}/{progress.total:,}{rate}")
        for bar in self.query("#pull-progress").results(ProgressBar):
            bar.update(total=max(progress.total, 1), progress=progress.done)

    def _update(self, selector: str, text: str) -> None:
        # Soft query: a status can arrive after mount but before compose has run; the children
        # are then composed from the state just stored, so there is nothing to update yet.
        for label in self.query(selector).results(Static):
            label.update(text)

    def _place_text(self) -> str:
        who = self._operator or "not logged in"
        return " · ".join(part for part in (who, self._till_name, self._store_name) if part)

    def _sync_text(self) -> str:
        status = self._sync
        if status is None or not _known(status):
            return "CRM: checking"
        text = status.label.upper() if not status.online else status.label
        text += f" · {status.queue_depth} queued"
        if status.oldest_pending_seconds is not None:
            text += f", oldest {_age(status.oldest_pending_seconds)}"
        if status.dead:
            text += f" · {status.dead} rejected"
        if status.blocking:
            text += f" · not sending: {escape(status.blocking)}"
        return text

    def _devices_text(self) -> str:
        if not self._devices:
            return "no readers"
        marks = "  ".join(
            f"{escape(name)} {_LINK_MARKS[state]} {state}"
            for name, state in sorted(self._devices.items())
        )
        return f"readers: {marks}"


def _known(status: SyncStatus) -> bool:
    """The engine has talked to the CRM (or failed to): before that, offline means unknown."""
    return status.online or not status.authorized or bool(status.problem or status.blocking)


def _age(seconds: float) -> str:
    """An op's age for the bar: minutes, hours past two, days past two."""
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // (24 * 60)} d"
