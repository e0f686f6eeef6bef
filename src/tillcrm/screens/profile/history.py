"""The History tab: purchases in a date range or a quick range; Enter opens the receipt."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from tillcrm.api import CustomerOut, TransactionSummary
from tillcrm.screens.profile._tab import ProfileContext, ProfileTab
from tillcrm.screens.profile.receipt import ReceiptScreen
from tillcrm.till import Offline, QuickRange, quick_range
from tillcrm.widgets.compact_input import CompactInput

__all__ = ["HistoryTab"]


class HistoryTab(ProfileTab):
    """Number, date, store and till (by name), total, points; filtered by the range above
    the grid."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "quick('today')", "Today"),
        Binding("w", "quick('this_week')", "This week"),
        Binding("m", "quick('last_month')", "Last month"),
    ]

    def __init__(self, context: ProfileContext, *, id: str) -> None:
        super().__init__(context, id=id)
        self._range: tuple[datetime, datetime] | None = None
        self._rows: dict[str, TransactionSummary] = {}

    def compose(self) -> ComposeResult:
        """Range inputs, quick ranges, the grid."""
        with Horizontal():
            yield CompactInput(placeholder="From YYYY-MM-DD", id="history-from")
            yield CompactInput(placeholder="To YYYY-MM-DD", id="history-to")
            yield Button("Today", id="quick-today", compact=True)
            yield Button("This week", id="quick-this_week", compact=True)
            yield Button("Last month", id="quick-last_month", compact=True)
        yield Static("", id="history-notice", classes="notice")
        table: DataTable[str] = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Number", "Date", "Store", "Till", "Total", "Points +/-")
        yield table

    async def load(self, customer: CustomerOut) -> None:
        """The customer's transactions in the chosen range (all recent ones by default)."""
        start, end = self._range or (None, None)
        answer = await self.till.history(customer.id, start=start, end=end)
        table = self.query_one("#history-table", DataTable)
        table.clear()
        self._rows = {}
        if isinstance(answer, Offline):
            self.notice("history-notice", answer.message)
            return
        self.notice("history-notice", "" if answer.items else "No purchases in this range.")
        for row in answer.items:
            self._rows[str(row.id)] = row
            table.add_row(
                row.number,
                self.when(row.at),
                row.store_name,
                row.till_name,
                self.money.format(row.total, row.currency),
                f"+{row.points_earned} / -{row.points_redeemed}",
                key=str(row.id),
            )

    def action_quick(self, which: str) -> None:
        """Today, this week or last month, in the store's time zone."""
        now = datetime.now(self.zone)
        self._range = quick_range(QuickRange(which), now, self.till.context.store.timezone)
        self.query_one("#history-from", Input).value = f"{self._range[0]:%Y-%m-%d}"
        last_day = self._range[1] - timedelta(days=1)
        self.query_one("#history-to", Input).value = f"{last_day:%Y-%m-%d}"
        self.reload()

    @on(Button.Pressed, "#quick-today, #quick-this_week, #quick-last_month")
    def _quick_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_quick((event.button.id or "").removeprefix("quick-"))

    @on(Input.Submitted, "#history-from, #history-to")
    def _typed_range(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            first = date.fromisoformat(self.query_one("#history-from", Input).value.strip())
            last = date.fromisoformat(self.query_one("#history-to", Input).value.strip())
        except ValueError:
            self.notice("history-notice", "Dates are YYYY-MM-DD, for example 2026-11-01.")
            return
        if last < first:
            self.notice("history-notice", "The end date is before the start date.")
            return
        self._range = (
            datetime.combine(first, time(0), tzinfo=self.zone),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=self.zone),
        )
        self.reload()

    @on(DataTable.RowSelected, "#history-table")
    def _open_receipt(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.run_worker(self._show_receipt(event.row_key.value or ""), exclusive=True)

    async def _show_receipt(self, key: str) -> None:
        row = self._rows.get(key)
        if row is None:
            return
        answer = await self.till.receipt(row.id)
        if isinstance(answer, Offline):
            self.notify_result(answer.message, error=True)
            return
        self.app.push_screen(ReceiptScreen(answer, self.money, self.context.printer))
