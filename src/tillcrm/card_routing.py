"""Where a card read at the till goes: a reader's or a keyboard-wedge scanner's.

Readers report from their own threads; the app posts each event to itself as a
`DeviceEventMessage` and hands it here. A reader's state goes to the readers board and the
status bars; a read goes by the screen on top: a badge to the login form or the override
dialog, nothing while another dialog or a sale or form is open, else the customer's profile.
A scan typed by a keyboard-wedge scanner takes the same way. Kept apart from the app so the
rules of where a card goes read in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message
from textual.screen import ModalScreen

from tillcrm.screens.login import LoginScreen

if TYPE_CHECKING:
    from tillcrm.app import TillApp
    from tillcrm.devices.events import DeviceEvent, Identified, Rejected
    from tillcrm.domain import IdentifierKind

__all__ = ["BUSY_MESSAGE", "PAYMENT_CARD_MESSAGE", "CardRouter", "DeviceEventMessage"]

PAYMENT_CARD_MESSAGE = "payment card, not a loyalty card"
"""All the cashier is told when a payment card is swiped by mistake."""

BUSY_MESSAGE = "finish or cancel this sale or form first, then present the card again"
"""Said when a card is read while a sale or a customer form is being filled in."""


class DeviceEventMessage(Message):
    """A reader reported `event` (posted from the reader's thread)."""

    def __init__(self, event: DeviceEvent) -> None:
        super().__init__()
        self.event = event


class CardRouter:
    """Routes the readers' events and wedge scans of one open till's `app`."""

    def __init__(self, app: TillApp) -> None:
        self._app = app

    def device_event(self, event: DeviceEvent) -> None:
        """A reader's state to the board and the app's state; a read to where it belongs."""
        from tillcrm.devices.events import DeviceStatus
        from tillcrm.screens.devices import DevicesScreen

        app = self._app
        app.device_board.record(event)
        if isinstance(app.screen, DevicesScreen):
            app.screen.refresh_board()
        if isinstance(event, DeviceStatus):
            app.device_states = {**app.device_states, event.source: event.state}
        else:
            self._read(event)

    def wedge_scanned(self, code: str) -> None:
        """A keyboard-wedge scanner typed `code`: read as a barcode reader would."""
        from tillcrm.devices.wedge import Scanned, read_scan

        event = read_scan(Scanned(code))
        if event is not None:
            self._read(event)

    def _read(self, event: Identified | Rejected) -> None:
        from tillcrm.devices.events import Rejected

        if isinstance(event, Rejected):
            if not isinstance(self._app.screen, ModalScreen):
                self._reject(event)
        else:
            self._present(event.kind, event.value)

    def _reject(self, event: Rejected) -> None:
        if event.reason == "payment_card":
            self._app.notify(PAYMENT_CARD_MESSAGE, severity="warning")
        else:
            detail = event.detail or "the card could not be read: try again"
            self._app.notify(detail, severity="warning")

    def _present(self, kind: IdentifierKind, value: str) -> None:
        """A card was read: a badge at the login screen or in the override dialog, else the
        customer's profile."""
        from tillcrm.screens.customer_form import CustomerFormScreen
        from tillcrm.screens.override import OverrideScreen
        from tillcrm.screens.sale import SaleScreen

        app = self._app
        screen = app.screen
        if isinstance(screen, OverrideScreen):
            screen.badge(value)
            return
        if isinstance(screen, ModalScreen):
            return
        if isinstance(screen, SaleScreen | CustomerFormScreen):
            # Opening another profile would throw away the sale or the form being filled in.
            app.notify(BUSY_MESSAGE, severity="warning")
            return
        if isinstance(screen, LoginScreen):
            screen.badge(value)
        elif app.till.operator is not None:
            app.identify_card(kind, value)
