"""The devices screen: each reader's link state and the last thing it read.

`DeviceBoard` keeps that state whether or not the screen is shown: the app records every
device event into it (on the UI thread, from the message its device bridge posts), and the
screen renders the board when it is shown and whenever the app calls `refresh_board`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label

from tillcrm.config import DeviceSettings
from tillcrm.devices.events import DeviceEvent, DeviceStatus, Identified, LinkState, Rejected
from tillcrm.domain import mask_tail
from tillcrm.domain.formats import format_clock
from tillcrm.screens._base import TillScreen

__all__ = ["DeviceBoard", "DeviceRow", "DevicesScreen"]


@dataclass(frozen=True)
class DeviceRow:
    """One reader as the screen shows it."""

    name: str
    kind: str
    url: str
    state: LinkState = LinkState.DISCONNECTED
    detail: str = ""
    last_event: str = "-"
    last_at: datetime | None = None


class DeviceBoard:
    """The state of every configured reader, updated from device events."""

    def __init__(
        self,
        devices: Sequence[DeviceSettings],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self.rows: dict[str, DeviceRow] = {
            d.name: DeviceRow(name=d.name, kind=d.kind.value, url=d.url) for d in devices
        }

    def record(self, event: DeviceEvent) -> None:
        """Take one event of any reader (a reader not configured gets a row of its own)."""
        row = self.rows.get(event.source) or DeviceRow(name=event.source, kind="?", url="")
        if isinstance(event, DeviceStatus):
            row = replace(row, state=event.state, detail=event.detail)
        elif isinstance(event, Identified):
            shown = f"{event.kind.value} {mask_tail(event.value)}"
            row = replace(row, last_event=shown, last_at=self._clock())
        elif isinstance(event, Rejected):
            shown = f"rejected: {event.reason.replace('_', ' ')}"
            if event.masked:
                shown += f" {event.masked}"
            row = replace(row, last_event=shown, last_at=self._clock())
        self.rows[event.source] = row


class DevicesScreen(TillScreen[None]):
    """Name, kind, port, state and the last event of each reader."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back")]

    def __init__(self, board: DeviceBoard, *, locale: str = "en_US", zone: str = "UTC") -> None:
        super().__init__()
        self._board = board
        self._locale = locale
        self._zone = ZoneInfo(zone)
        """The store's time zone: a reader's last event is shown in the store's time."""

    def compose_body(self) -> ComposeResult:
        """The grid."""
        yield Label("Readers")
        table: DataTable[str] = DataTable(id="devices-table", cursor_type="row")
        table.add_columns("Reader", "Kind", "State", "Last event", "At", "Port")
        yield table

    def on_mount(self) -> None:
        """Render the board as it is now."""
        self.refresh_board()

    def on_screen_resume(self) -> None:
        """Render again when shown again."""
        self.refresh_board()

    def refresh_board(self) -> None:
        """Show the board's current rows (the app calls this after recording an event)."""
        table = self.query_one("#devices-table", DataTable)
        table.clear()
        for row in self._board.rows.values():
            state = row.state.value + (f" ({row.detail})" if row.detail else "")
            at = format_clock(row.last_at, self._zone, self._locale) if row.last_at else ""
            table.add_row(row.name, row.kind, state, row.last_event, at, row.url, key=row.name)

    def action_close(self) -> None:
        """Back."""
        self.app.pop_screen()
