"""Registering a connected parent's customer at this child organization, from a scan.

At a connected child's till a card or phone of a customer the parent has, but who never
registered at this child, is not found here: the CRM says so, and the cashier is asked whether
to register them here. On yes the customer is registered (with the parent's shared fields),
the visit is recorded and the profile opens, as for any identified customer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label

from tillcrm.api import CustomerOut
from tillcrm.screens.messages import CustomerIdentified
from tillcrm.till import Offline, RegisterHere

if TYPE_CHECKING:
    from tillcrm.app import TillApp

__all__ = ["RegisterHereScreen", "offer_registration"]


class RegisterHereScreen(ModalScreen[bool | None]):
    """Dismisses with the marketing-SMS choice on "Register here", None on Cancel or Escape."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, offer: RegisterHere, here: str) -> None:
        super().__init__()
        self._offer = offer
        self._here = here

    def compose(self) -> ComposeResult:
        """The question, the subscription choice for this organization, and two buttons."""
        offer = self._offer
        with Vertical():
            yield Label(
                f"This {offer.kind.value} belongs to a customer registered at {offer.parent},"
                f" not yet at {self._here}. Register them here?",
                id="register-question",
            )
            yield Checkbox(f"Marketing SMS from {self._here}", id="register-sms")
            with Horizontal():
                yield Button("Register here", id="register", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Focus "Register here": the cashier asked the customer before confirming."""
        self.query_one("#register", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Register (with the subscription choice) or cancel."""
        event.stop()
        if event.button.id == "register":
            self.dismiss(self.query_one("#register-sms", Checkbox).value)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Leave the customer unregistered here."""
        self.dismiss(None)


def offer_registration(app: TillApp, offer: RegisterHere) -> None:
    """Ask the cashier; on yes register the customer here, then open their profile."""

    async def register(marketing_sms: bool) -> None:
        till = app.till
        registered = await till.register_here(offer.kind, offer.value, marketing_sms=marketing_sms)
        if not isinstance(registered, CustomerOut):
            why = registered.message if isinstance(registered, Offline) else registered.reason
            app.notify(f"not registered: {why}", severity="error")
            return
        app.notify(f"registered at {till.context.organization.name}")
        app.post_message(CustomerIdentified(await till.identify(offer.kind, offer.value)))

    def answered(marketing_sms: bool | None) -> None:
        if marketing_sms is not None:
            app.run_worker(register(marketing_sms), group="identify", exclusive=True)

    app.push_screen(RegisterHereScreen(offer, app.till.context.organization.name), answered)
