"""The Suites tab: the customer's suites, ongoing first, then upcoming, then closed.

A suite can be taken off the customer (the seeds' "options to delete") after a confirmation;
the removal goes through the outbox like any change, so it reaches the CRM exactly once.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from tillcrm.api import CustomerOut, SuiteOut
from tillcrm.domain import Suite
from tillcrm.screens.profile._tab import ProfileContext, ProfileTab
from tillcrm.till import Declined, Offline

__all__ = ["SuitesTab"]


class SuitesTab(ProfileTab):
    """Suite, event, start and end, and where each stands now."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("delete", "remove_suite", "Remove suite")]

    def __init__(self, context: ProfileContext, *, id: str) -> None:
        super().__init__(context, id=id)
        self._suites: dict[str, Suite] = {}

    def compose(self) -> ComposeResult:
        """The grid and a notice line."""
        yield Static("", id="suites-notice", classes="notice")
        table: DataTable[str] = DataTable(id="suites-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Status", "Suite", "Event", "Starts", "Ends")
        yield table
        yield Static("Delete: remove the suite from this customer", classes="actions")

    async def load(self, customer: CustomerOut) -> None:
        """The CRM's suites for the customer (online only: suites are not cached)."""
        answer = await self.till.suites(customer.id)
        table = self.query_one("#suites-table", DataTable)
        table.clear()
        self._suites = {}
        if isinstance(answer, Offline):
            self.notice("suites-notice", answer.message)
            return
        rows: list[SuiteOut] = [*answer.ongoing, *answer.upcoming, *answer.closed]
        self.notice("suites-notice", "" if rows else "No suites assigned.")
        for row in rows:
            suite = row.suite
            self._suites[str(suite.id)] = suite
            table.add_row(
                row.status.value,
                suite.name,
                suite.event_name,
                self.when(suite.starts_at),
                self.when(suite.ends_at),
                key=str(suite.id),
            )

    def action_remove_suite(self) -> None:
        """Remove the selected suite after a confirmation."""
        suite = self._suites.get(self.selected_key("suites-table") or "")
        if suite is None or self.customer is None:
            return
        customer_id = self.customer.id
        self.confirm_then(
            f"Remove {suite.name} ({suite.event_name}) from this customer?",
            lambda: self._remove(customer_id, suite.id),
        )

    def _remove(self, customer_id: UUID, suite_id: UUID) -> None:
        answer = self.till.remove_suite(customer_id, suite_id)
        if isinstance(answer, Declined):
            self.notify_result(answer.reason, error=True)
            return
        self.notify_result(f"Suite removal {answer.message}")
        self.reload()
