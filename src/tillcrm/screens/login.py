"""The login screen: operator code + PIN, or a badge swipe; offline through cached operators.

A wrong PIN says how many attempts are left; a locked operator is told until when. Checks
run in a worker, so a slow CRM (asked first for fresh operators, under a short time budget)
never freezes the keyboard. The form is the first thing the till paints, before the till
itself is open: it imports only Textual, takes keys at once, and a check typed before the till
is open waits for it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.widgets import Input, Label, Static

from tillcrm.screens._base import TillScreen
from tillcrm.screens.messages import LoggedIn

if TYPE_CHECKING:
    from tillcrm.till import LoginRefused

__all__ = ["LoginScreen"]


class LoginScreen(TillScreen[None]):
    """Who is working this till."""

    AUTO_FOCUS = "#code"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next_field", show=False, priority=True)
    ]

    def compose_body(self) -> ComposeResult:
        """The form in the middle."""
        with Center(id="login-box"), Vertical(id="login-form"):
            yield Label("Log in", id="login-title")
            yield Input(placeholder="Operator code", id="code")
            yield Input(placeholder="PIN", password=True, id="pin")
            yield Static("", id="login-message", markup=False)
            yield Static("Or swipe your badge.", id="login-hint")

    def action_next_field(self) -> None:
        """Enter in the code field moves to the PIN at once: a priority binding, so the keys
        after it are routed to the PIN even when they arrived together (a quick cashier while
        the till is still busy opening); the code's own keys are already on their way to it.
        Elsewhere the Enter goes on to the field, after the keys typed into it."""
        if self.focused is not self.query_one("#code", Input):
            raise SkipAction
        self.set_focus(self.query_one("#pin", Input))

    @on(Input.Submitted, "#pin")
    def _submit(self) -> None:
        code = self.query_one("#code", Input).value.strip()
        pin = self.query_one("#pin", Input).value
        if not code:
            self._say("Type your operator code first.")
            self.query_one("#code", Input).focus()
            return
        self._login(code, pin)

    def badge(self, value: str) -> None:
        """A card was swiped at this screen: log in with it as a badge."""
        self._login_badge(value)

    @work(group="login", exclusive=True)
    async def _login(self, code: str, pin: str) -> None:
        self._say("Checking…")
        till = await self.till_app.opened()
        from tillcrm.till import LoginRefused  # imported by now: the till is open

        try:
            operator = await till.login(code, pin)
        except LoginRefused as refused:
            self.query_one("#pin", Input).value = ""
            self.query_one("#pin", Input).focus()
            self._say(_refusal(refused))
            return
        self.post_message(LoggedIn(operator))

    @work(group="login", exclusive=True)
    async def _login_badge(self, value: str) -> None:
        self._say("Checking badge…")
        till = await self.till_app.opened()
        from tillcrm.till import LoginRefused  # imported by now: the till is open

        try:
            operator = await till.login_badge(value)
        except LoginRefused as refused:
            self._say(_refusal(refused))
            return
        self.post_message(LoggedIn(operator))

    def _say(self, text: str) -> None:
        self.query_one("#login-message", Static).update(text)


def _refusal(refused: LoginRefused) -> str:
    """The refusal for the screen; a lockout says until when (local time)."""
    text = str(refused)
    text = text[:1].upper() + text[1:]
    if refused.locked_until is not None:
        text += f"; try again at {time.strftime('%H:%M', time.localtime(refused.locked_until))}"
    return text + "."
