"""This organization's own label, status and marketing-SMS subscription for the customer.

Connected organizations (and units, for the subscription) each keep their own; the dialog
changes only this till's. It saves offline too: the change is queued like any other edit.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from tillcrm.api import CustomerOut
from tillcrm.till import Saved, TillService

__all__ = ["MembershipScreen"]


class MembershipScreen(ModalScreen[bool]):
    """Dismisses with True once a change is saved, False on Cancel or Escape."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, till: TillService, customer: CustomerOut) -> None:
        super().__init__()
        self._till = till
        self._customer = customer

    def compose(self) -> ComposeResult:
        """Label, status and the subscription as this organization keeps them now."""
        customer = self._customer
        here = self._till.context.organization.name
        with Vertical():
            yield Label(f"At {here}", id="membership-title")
            yield Input(customer.label, placeholder="Label", id="membership-label")
            yield Input(customer.status, placeholder="Status", id="membership-status")
            yield Checkbox(
                f"Marketing SMS from {here}",
                customer.profile.flags.marketing_sms,
                id="membership-sms",
            )
            yield Static("", id="membership-error")
            with Horizontal():
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save or cancel."""
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        """Save what changed; a refusal is shown here and nothing is saved."""
        customer = self._customer
        label = self.query_one("#membership-label", Input).value.strip()
        status = self.query_one("#membership-status", Input).value.strip()
        sms = self.query_one("#membership-sms", Checkbox).value
        saved = self._till.update_membership(
            customer.id,
            label=label if label != customer.label else None,
            status=status if status != customer.status else None,
            marketing_sms=sms if sms != customer.profile.flags.marketing_sms else None,
        )
        if isinstance(saved, Saved):
            self.notify("saved, queued until the CRM is back" if saved.queued else "saved")
            self.dismiss(True)
        else:
            self.query_one("#membership-error", Static).update(saved.reason)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(False)
