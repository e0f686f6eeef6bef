"""The identify screen, the till's home: find the customer in front of the cashier.

One input takes a phone number (whole or its last digits), a name, an email or a customer
number; the grid below fills as the cashier types (from the till's cache, so it works offline).
Enter in the input opens the only match or moves to the grid; Enter on a row opens that
customer's profile. A scan, swipe or tap needs none of this: the app opens the profile directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Checkbox, DataTable, Input, Static

from tillcrm.api import CustomerSummary
from tillcrm.domain import display_phone
from tillcrm.screens._base import TillScreen
from tillcrm.screens.messages import CustomerIdentified
from tillcrm.till import Identification, NotFound, TillService

__all__ = ["IdentifyScreen"]

SEARCH_DELAY = 0.15
"""Seconds of quiet typing before the grid is searched again."""

_HINT = "Scan, swipe or tap a card, or type to search."

_COLUMNS = (("number", "Number"), ("name", "Name"), ("contact", "Contact"), ("points", "Points"))


class IdentifyScreen(TillScreen[None]):
    """Search by phone, name, email or number; open a customer's profile."""

    AUTO_FOCUS = "#query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "app.new_customer", "New customer"),
        Binding("ctrl+t", "toggle_inactive", "Show inactive"),
        Binding("down", "to_results", "Results", show=False),
        Binding("escape", "clear", "Clear"),
    ]

    def __init__(self, till: TillService, *, phone_region: str = "US") -> None:
        super().__init__()
        self._till = till
        self._phone_region = phone_region
        """Numbers of this region are shown as dialled here (`[locale] phone_region`)."""
        self._debounce: Timer | None = None
        self.results: list[CustomerSummary] = []

    def compose_body(self) -> ComposeResult:
        """The search line and the grid."""
        with Horizontal(id="search-line"):
            yield Input(
                placeholder="Phone, name, email or customer number (or scan a card)", id="query"
            )
            yield Checkbox("Show inactive", id="inactive")
        table: DataTable[str] = DataTable(id="results", cursor_type="row", zebra_stripes=True)
        for key, label in _COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(_HINT, id="identify-message")

    # -- searching ---------------------------------------------------------------------------

    @on(Input.Changed, "#query")
    def _typed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(SEARCH_DELAY, self._search_now, name="search")

    @on(Checkbox.Changed, "#inactive")
    def _inactive_changed(self) -> None:
        self._search_now()

    def _search_now(self) -> None:
        self._debounce = None
        query = self.query_one("#query", Input).value.strip()
        include_inactive = self.query_one("#inactive", Checkbox).value
        self._search(query, include_inactive)

    @work(group="search", exclusive=True)
    async def _search(self, query: str, include_inactive: bool, *, submitted: bool = False) -> None:
        """Fill the grid; after Enter, open the only match or move into the grid."""
        found = await self._till.search(query, include_inactive=include_inactive) if query else []
        self.show_results(found)
        if submitted and not found and self._till.context.parent is not None:
            # A connected child's search never finds the parent's other customers: a typed
            # phone of one of them offers to register them here.
            typed = await self._till.identify_typed(query)
            if not isinstance(typed, NotFound) or typed.register is not None:
                self.post_message(CustomerIdentified(typed))
        elif submitted and len(found) == 1:
            self._open(found[0])
        elif submitted and found:
            self.action_to_results()

    def show_results(self, rows: Sequence[CustomerSummary]) -> None:
        """Fill the grid (also used for the candidates of an ambiguous phone number)."""
        self.results = list(rows)
        table = self.query_one("#results", DataTable)
        table.clear()
        for row in rows:
            name = " ".join(p for p in (row.first_name, row.last_name) if p) or row.company
            if not row.active:
                name += " (inactive)"
            contact = display_phone(row.mobile, self._phone_region) or row.email or ""
            table.add_row(row.customer_number, name, contact, f"{row.points:,}", key=str(row.id))
        if rows:
            plural = "s" if len(rows) != 1 else ""
            message = f"{len(rows)} customer{plural}: Enter opens the profile."
        elif self.query_one("#query", Input).value:
            message = "No customer found."
        else:
            message = _HINT
        self.query_one("#identify-message", Static).update(message)

    # -- opening -----------------------------------------------------------------------------

    @on(Input.Submitted, "#query")
    def _submitted(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        query = self.query_one("#query", Input).value.strip()
        if query:
            self._search(query, self.query_one("#inactive", Checkbox).value, submitted=True)

    @on(DataTable.RowSelected, "#results")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        row = next((r for r in self.results if str(r.id) == event.row_key.value), None)
        if row is not None:
            self._open(row)

    @work(group="open", exclusive=True)
    async def _open(self, row: CustomerSummary) -> None:
        found: Identification | NotFound = self._till.choose(row.id)
        if isinstance(found, NotFound):
            # Found at the CRM, not yet in the cache: identify by number caches it.
            typed = await self._till.identify_typed(row.customer_number)
            self.post_message(CustomerIdentified(typed))
            return
        self.post_message(CustomerIdentified(found))

    # -- keys --------------------------------------------------------------------------------

    def action_to_results(self) -> None:
        """Move into the grid."""
        if self.results:
            self.query_one("#results", DataTable).focus()

    def action_toggle_inactive(self) -> None:
        """Show or hide inactive customers."""
        box = self.query_one("#inactive", Checkbox)
        box.value = not box.value

    def action_clear(self) -> None:
        """Start a new search."""
        query = self.query_one("#query", Input)
        query.value = ""
        query.focus()
