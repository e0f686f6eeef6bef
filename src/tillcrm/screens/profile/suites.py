"""The Suites tab: the customer's suites, ongoing first, then upcoming, then closed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from tillcrm.api import CustomerOut, SuiteOut
from tillcrm.screens.profile._tab import ProfileTab
from tillcrm.till import Offline

__all__ = ["SuitesTab"]


class SuitesTab(ProfileTab):
    """Suite, event, start and end, and where each stands now."""

    def compose(self) -> ComposeResult:
        """The grid and a notice line."""
        yield Static("", id="suites-notice", classes="notice")
        table: DataTable[str] = DataTable(id="suites-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Status", "Suite", "Event", "Starts", "Ends")
        yield table

    async def load(self, customer: CustomerOut) -> None:
        """The CRM's suites for the customer (online only: suites are not cached)."""
        answer = await self.till.suites(customer.id)
        table = self.query_one("#suites-table", DataTable)
        table.clear()
        if isinstance(answer, Offline):
            self.notice("suites-notice", answer.message)
            return
        rows: list[SuiteOut] = [*answer.ongoing, *answer.upcoming, *answer.closed]
        self.notice("suites-notice", "" if rows else "No suites assigned.")
        for row in rows:
            suite = row.suite
            table.add_row(
                row.status.value,
                suite.name,
                suite.event_name,
                self.when(suite.starts_at),
                self.when(suite.ends_at),
                key=str(suite.id),
            )
