"""The Loyalty tab: points as the organization's policy gives them (one pool, or one wallet
per brand), the ledger, and redeeming points (earning is what a sale does: F2)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from tillcrm.api import CustomerOut
from tillcrm.domain import OverrideApproval
from tillcrm.screens.override import with_override
from tillcrm.screens.profile._tab import ProfileTab
from tillcrm.till import Declined, Offline, OverrideRequired, Saved
from tillcrm.widgets.compact_input import CompactInput

__all__ = ["LoyaltyTab"]


class LoyaltyTab(ProfileTab):
    """Balances, the ledger (newest first) and a redeem form."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "focus_redeem", "Redeem")]

    def compose(self) -> ComposeResult:
        """Balances, redeem form, ledger."""
        yield Static("", id="loyalty-balances")
        with Horizontal():
            yield CompactInput(placeholder="Points", id="redeem-points", type="integer")
            yield CompactInput(placeholder="Reason (bonus)", id="redeem-reason")
            yield Button("Redeem", id="redeem", compact=True)
        yield Static("", id="loyalty-notice", classes="notice")
        table: DataTable[str] = DataTable(
            id="loyalty-ledger", cursor_type="row", zebra_stripes=True
        )
        table.add_columns("When", "Points", "Reason", "Brand")
        yield table

    def draw(self, customer: CustomerOut) -> None:
        """The cached balances at once; the ledger when the tab loads."""
        flags = customer.profile.flags
        lines = [f"{self._account_name(p.brand_id)}: {p.balance}" for p in customer.balances.points]
        if not lines:
            lines = ["No points yet."]
        if not flags.loyalty_enabled:
            lines.append("Loyalty is turned off for this customer: sales earn no points.")
        self.query_one("#loyalty-balances", Static).update("\n".join(lines))

    async def load(self, customer: CustomerOut) -> None:
        """The ledger from the CRM. The balances stay the cached record's: those already count
        this till's queued redemptions, which the CRM has not seen yet."""
        answer = await self.till.loyalty(customer.id)
        table = self.query_one("#loyalty-ledger", DataTable)
        table.clear()
        if isinstance(answer, Offline):
            self.notice("loyalty-notice", f"Ledger: {answer.message}. Balances are cached.")
            return
        for entry in answer.ledger:
            table.add_row(
                self.when(entry.at),
                f"{entry.delta:+d}",
                entry.reason,
                self.till.brand_name(entry.brand_id) if entry.brand_id else "",
            )

    def _account_name(self, brand_id: str | None) -> str:
        """The shared pool, or one brand's wallet by the brand's name."""
        return (
            "Points (all brands)"
            if brand_id is None
            else f"Points at {self.till.brand_name(brand_id)}"
        )

    def action_focus_redeem(self) -> None:
        """Jump to the points field."""
        self.query_one("#redeem-points", Input).focus()

    @on(Input.Submitted, "#redeem-points")
    def _to_reason(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#redeem-reason", Input).focus()

    @on(Input.Submitted, "#redeem-reason")
    @on(Button.Pressed, "#redeem")
    def _redeem_pressed(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        text = self.query_one("#redeem-points", Input).value.strip()
        reason = self.query_one("#redeem-reason", Input).value.strip()
        if not text.isdigit() or int(text) <= 0:
            self.notice("loyalty-notice", "Enter the points to redeem.")
        elif not reason:
            self.notice("loyalty-notice", "Enter what the points are redeemed for.")
        elif self.customer is not None:
            self._redeem(self.customer.id, int(text), reason)

    @work(exclusive=True, group="redeem")
    async def _redeem(self, customer_id: UUID, points: int, reason: str) -> None:
        async def attempt(override: OverrideApproval | None) -> Saved | Declined | OverrideRequired:
            return await self.till.redeem_points(customer_id, points, reason, override=override)

        answer = await with_override(self.app, self.till, f"Redeem {points} points", attempt)
        if answer is None:
            self.notice("loyalty-notice", "Not redeemed: the override was cancelled.")
        elif isinstance(answer, Declined):
            self.notice("loyalty-notice", f"Declined: {answer.reason}")
        else:
            self.notice("loyalty-notice", f"Redeemed {points} points: {answer.message}.")
            self.query_one("#redeem-points", Input).value = ""
            self.query_one("#redeem-reason", Input).value = ""
            self.customer_changed()
