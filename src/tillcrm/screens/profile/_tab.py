"""What every profile tab shares: the customer it shows, and loading its data only when seen.

The profile screen is built once; per customer it hands each tab the new record and marks it
stale, which costs nothing. Only the tab on screen draws the record and loads its data (in a
worker, so a slow CRM never blocks a keypress); the others do both when the cashier opens them,
so a scan redraws one tab, not seven.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from tillcrm.api import CustomerOut
from tillcrm.domain.formats import format_moment
from tillcrm.receipts import ReceiptPrinter
from tillcrm.screens.confirm import ConfirmScreen
from tillcrm.till import TillService
from tillcrm.widgets.money import MoneyFormat

__all__ = ["ProfileContext", "ProfileTab"]


@dataclass(frozen=True)
class ProfileContext:
    """What the profile's tabs share: the facade, and how this till formats and prints."""

    till: TillService
    money: MoneyFormat
    phone_region: str
    """Region of phone numbers typed without a country code (`[locale] phone_region`)."""
    printer: ReceiptPrinter | None
    """Where receipts are reprinted; None when the till has no printer."""


class ProfileTab(VerticalScroll):
    """One tab of the customer profile."""

    class CustomerChanged(Message):
        """A tab saved something about the customer: the profile reloads them."""

    def __init__(self, context: ProfileContext, *, id: str) -> None:
        super().__init__(id=id)
        self.context = context
        self.till = context.till
        self.money = context.money
        self.customer: CustomerOut | None = None
        self.stale = True
        self._drawn: CustomerOut | None = None
        """The customer whose record the tab last drew (their notices are the ones shown)."""

    def show_customer(self, customer: CustomerOut) -> None:
        """Take the new customer; the tab draws and loads when it is (or becomes) visible."""
        self.customer = customer
        self.stale = True

    def reload(self) -> None:
        """Draw the record and load this tab's data now, in a worker; a newer load cancels an
        older one.

        Another customer clears the tab's notices; the same customer reloaded after an action
        keeps them, so the cashier still reads what the action did.
        """
        customer = self.customer
        if customer is None:
            return
        if self._drawn is None or self._drawn.id != customer.id:
            for notice in self.query(".notice").results(Static):
                notice.update("")
        self._drawn = customer
        self.stale = False
        self.draw(customer)
        self.run_worker(self.load(customer), group=f"load-{self.id}", exclusive=True)

    def draw(self, customer: CustomerOut) -> None:
        """Show what the record alone says, synchronously (the first paint has it); a tab
        whose data all comes from `load` draws nothing."""

    async def load(self, customer: CustomerOut) -> None:
        """Fetch and show what this tab needs beyond the customer record; a tab that shows
        only the record (drawn in `draw`) needs nothing more."""

    @property
    def zone(self) -> ZoneInfo:
        """The store's time zone: a venue's "today" and receipt times are the store's."""
        return ZoneInfo(self.till.context.store.timezone)

    def when(self, moment: datetime) -> str:
        """`moment` as the store's local date and time, as the till's locale writes them."""
        return format_moment(moment, self.zone, self.money.locale)

    def customer_changed(self) -> None:
        """Tell the profile screen to reload the customer (balances, users, version)."""
        self.post_message(self.CustomerChanged())

    def notify_result(self, message: str, *, error: bool = False) -> None:
        """An action's outcome, as a toast the cashier can read without losing focus."""
        self.app.notify(message, severity="error" if error else "information")

    def selected_key(self, table_id: str) -> str | None:
        """The key of the row under the cursor of this tab's table `table_id`; None when the
        table is empty."""
        table: DataTable[str] = self.query_one(f"#{table_id}", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def confirm_then(self, question: str, action: Callable[[], object]) -> None:
        """Ask `question` before a delete; run `action` only on an explicit yes."""

        def answered(yes: bool | None) -> None:
            if yes:
                action()

        self.app.push_screen(ConfirmScreen(question), answered)

    def notice(self, widget_id: str, text: str) -> None:
        """Set a notice line of this tab (offline, declined, ...)."""
        self.query_one(f"#{widget_id}", Static).update(text)
