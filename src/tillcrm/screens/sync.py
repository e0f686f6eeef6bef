"""The sync screen (supervisors): what waits in the queue, the ops the CRM rejected with its
reason, and the ops it applied but flagged for review; retry now, compensate a rejected op,
and renumber a queue the CRM stopped taking (a till restored from an old copy of its database).

A rejected op is never edited or deleted: compensating it sends a new op (the same action
again, by the supervisor, recorded in the audit log against the dead one).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from tillcrm.domain.formats import format_moment
from tillcrm.screens._base import TillScreen
from tillcrm.screens.confirm import ConfirmScreen
from tillcrm.screens.customer_form import ConflictScreen
from tillcrm.till import Declined, TillService

if TYPE_CHECKING:
    from tillcrm.sync import SyncEngine
    from tillcrm.till import OutboxEntry

__all__ = ["SyncScreen"]


class SyncScreen(TillScreen[None]):
    """Queue, dead letters and needs-review items; `sync_now` pushes and pulls at once."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("f5", "retry", "Retry now"),
        Binding("c", "compensate", "Compensate"),
        Binding("r", "renumber", "Renumber"),
        Binding("f4", "refresh_lists", "Refresh"),
    ]

    def __init__(
        self, till: TillService, sync: SyncEngine | None = None, *, locale: str = "en_US"
    ) -> None:
        super().__init__()
        self._till = till
        self._sync = sync
        self._zone = ZoneInfo(till.context.store.timezone)
        self._locale = locale
        """The till's locale (`[locale] locale`): when each op was saved is written in it."""
        self._dead: dict[str, OutboxEntry] = {}

    def compose_body(self) -> ComposeResult:
        """Three grids and a result line."""
        columns = ("Seq", "Type", "Customer", "Saved", "Operator")
        with VerticalScroll():
            yield Static("", id="sync-result")
            yield Label("Queue (waiting for the CRM)", classes="section")
            queue: DataTable[str] = DataTable(id="sync-queue", cursor_type="row")
            queue.add_columns(*columns, "Last error")
            yield queue
            yield Label("Rejected by the CRM (c: compensate)", classes="section")
            dead: DataTable[str] = DataTable(id="sync-dead", cursor_type="row")
            dead.add_columns(*columns, "CRM's reason")
            yield dead
            yield Label("Applied but flagged for review", classes="section")
            review: DataTable[str] = DataTable(id="sync-review", cursor_type="row")
            review.add_columns(*columns, "CRM's note")
            yield review

    def on_mount(self) -> None:
        """Supervisors only; the lists load at once (they are local)."""
        operator = self._till.operator
        if operator is None or not operator.role.can_approve:
            self._say("Only a supervisor or manager can work the sync queue.")
            return
        self.action_refresh_lists()

    def on_screen_resume(self) -> None:
        """Fresh lists whenever the screen comes back."""
        self.on_mount()

    def action_refresh_lists(self) -> None:
        """Reload the three lists from the till's outbox."""
        self._refresh()

    def _refresh(self) -> str:
        """Reload the lists, say what blocks the queue, and return it ("" when nothing)."""
        fill = (
            ("#sync-queue", self._till.queued()),
            ("#sync-dead", self._till.dead_letters()),
            ("#sync-review", self._till.needs_review()),
        )
        for table_id, entries in fill:
            table = self.query_one(table_id, DataTable)
            table.clear()
            for entry in entries:
                table.add_row(*self._row(entry), key=str(entry.op.op_id))
        self._dead = {str(e.op.op_id): e for e in fill[1][1]}
        blocking = self._till.blocking()
        if blocking:
            self._say(f"Not sending: {blocking}")
        return blocking

    def _row(self, entry: OutboxEntry) -> tuple[str, ...]:
        """One op in the cashier's words: the customer and operator by name, when it was
        saved in the store's time and the till's locale, and the CRM's last word on it."""
        op = entry.op
        till = self._till
        return (
            str(op.seq or ""),
            op.type.value,
            till.customer_name(op.entity_id),
            format_moment(op.local_ts, self._zone, self._locale),
            till.operator_name(op.operator_id),
            entry.last_error,
        )

    def action_retry(self) -> None:
        """Push and pull now instead of waiting for the next round; an op needing attention
        (and the queue it holds) is tried again."""
        if self._sync is not None:
            self._retry(self._sync)

    @work(exclusive=True, group="sync-now")
    async def _retry(self, sync: SyncEngine) -> None:
        retried = self._till.retry_held()
        await sync.sync_once()
        self._refresh()
        held = self._till.held()
        if held:
            self._say(f"Op {held[0].op.seq} failed again: {held[0].last_error}. Call support.")
        else:
            self._say(
                f"Retried {retried} op(s) needing attention. Synced." if retried else "Synced."
            )

    def action_renumber(self) -> None:
        """Renumber the unsent ops after the CRM's last seq, after the supervisor agrees,
        and send them."""
        self._renumber()

    @work(exclusive=True, group="renumber")
    async def _renumber(self) -> None:
        question = (
            "Renumber the unsent ops after the CRM's last seq and send them?\n"
            "Ops the CRM already has are recognised by their ids, never applied twice."
        )
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        sync = self._sync
        async with sync.between_rounds() if sync else contextlib.nullcontext():
            moved = self._till.renumber_unsent()
        if isinstance(moved, Declined):
            self._say(f"Not renumbered: {moved.reason}")
            return
        if sync is None:
            self._say(f"Renumbered {moved} op(s); they go with the next sync.")
            return
        await sync.sync_once()
        blocking = self._refresh()
        self._say(
            f"Renumbered {moved} op(s). " + (f"Not sending: {blocking}" if blocking else "Synced.")
        )

    def action_compensate(self) -> None:
        """Make good the selected rejected op with a new op, after the supervisor agrees."""
        table = self.query_one("#sync-dead", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        entry = self._dead.get(key)
        if entry is not None:
            self._compensate(entry)

    @work(exclusive=True, group="compensate")
    async def _compensate(self, entry: OutboxEntry) -> None:
        """A stale edit shows both versions and is sent again on the CRM's newer one; any
        other rejected op is sent again as it was."""
        conflict = self._till.conflict_of(entry)
        if conflict is not None:
            if not await self.app.push_screen_wait(ConflictScreen(conflict)):
                self._say("Kept the CRM's version; the rejected edit stays listed.")
                return
            answer = self._till.compensate(entry, base_version=conflict.theirs.version)
        else:
            question = (
                f"Send rejected op {entry.op.seq} ({entry.op.type.value}) again as a new op?\n"
                f"The CRM said: {entry.last_error}"
            )
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
            answer = self._till.compensate(entry)
        if isinstance(answer, Declined):
            self._say(f"Not compensated: {answer.reason}")
        else:
            self._say(f"Compensated by op {answer.op.seq}: {answer.message}.")
        self.action_refresh_lists()

    def _say(self, text: str) -> None:
        self.query_one("#sync-result", Static).update(text)

    @on(DataTable.RowSelected, "#sync-dead")
    def _selected_dead(self) -> None:
        self.action_compensate()

    def action_close(self) -> None:
        """Back."""
        self.app.pop_screen()
