"""The supervisor override: a supervisor approves exactly one action that breaks limits.

The dialog names each limit and by how much it is exceeded (in money or points), takes the
supervisor's badge (swiped into the badge field, or typed) or operator code + PIN, and a reason.
`TillService` has the CRM verify the approver when it is reachable (a locked supervisor is told
when to try again) and checks the cached operators when it is not, so it works offline; the
acting cashier is refused, and wrong PINs count toward the supervisor's lockout. The check runs
in a worker. The dialog dismisses with the `OverrideApproval` bound to that action, or None when
the cashier cancels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tillcrm.domain import OverrideApproval
from tillcrm.screens._limits import describe_breach
from tillcrm.till import Declined, OverrideRefused, OverrideRequired, Saved, TillService
from tillcrm.widgets.compact_input import CompactInput

if TYPE_CHECKING:
    from tillcrm.app import TillApp

__all__ = ["OverrideScreen", "with_override"]

Attempt = Callable[[OverrideApproval | None], Awaitable[Saved | Declined | OverrideRequired]]
"""One try of a write: without an approval first, then with the supervisor's."""


class OverrideScreen(ModalScreen[OverrideApproval | None]):
    """Approve `required` with a supervisor's badge or code + PIN and a reason."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "approve", "Approve"),
    ]

    def __init__(self, till: TillService, required: OverrideRequired, what: str) -> None:
        super().__init__()
        self._till = till
        self._required = required
        self._what = what

    def compose(self) -> ComposeResult:
        """Why, who approves, and the reason."""
        with Vertical():
            yield Label("Supervisor override required", id="title")
            yield Static(self._what, id="action")
            yield Static(self._limits_text(), id="limits")
            yield CompactInput(
                placeholder="Swipe or type supervisor badge",
                password=True,
                id="badge",
            )
            with Horizontal():
                yield CompactInput(placeholder="or operator code", id="code", classes="half")
                yield CompactInput(placeholder="PIN", password=True, id="pin", classes="half")
            yield CompactInput(placeholder="Reason (required)", id="reason")
            yield Static("", id="refusal")
            with Horizontal():
                yield Button("Approve", id="approve", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _limits_text(self) -> str:
        money = cast("TillApp", self.app).money
        kind = self._required.action.kind
        return "\n".join(describe_breach(b, kind, money) for b in self._required.breaches)

    def on_mount(self) -> None:
        """The badge field first: a swipe is the quickest approval."""
        self.query_one("#badge", Input).focus()

    def badge(self, value: str) -> None:
        """A card was swiped while the dialog is open: take it as the supervisor's badge."""
        self.query_one("#badge", Input).value = value
        self.action_approve()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next empty field, and approves from the reason."""
        event.stop()
        if event.input.id == "reason":
            self.action_approve()
        else:
            self.focus_next(Input)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Approve or cancel."""
        event.stop()
        if event.button.id == "approve":
            self.action_approve()
        else:
            self.action_cancel()

    def action_approve(self) -> None:
        """Check the approver in a worker (scrypt, or the CRM, takes a while); one at a time."""
        value = {name: self.query_one(f"#{name}", Input).value for name in ("badge", "code", "pin")}
        self._approve(value)

    @work(group="approve", exclusive=True)
    async def _approve(self, value: dict[str, str]) -> None:
        """Check the approver; on a refusal say why and clear the secrets."""
        try:
            approval = await self._till.approve(
                self._required,
                reason=self.query_one("#reason", Input).value,
                badge=value["badge"].strip() or None,
                code=value["code"].strip() or None,
                pin=value["pin"] or None,
            )
        except OverrideRefused as refused:
            self.query_one("#refusal", Static).update(str(refused))
            self.query_one("#badge", Input).value = ""
            self.query_one("#pin", Input).value = ""
            return
        self.dismiss(approval)

    def action_cancel(self) -> None:
        """No override: the action does not go ahead."""
        self.dismiss(None)


async def with_override(
    app: App[object],
    till: TillService,
    what: str,
    attempt: Attempt,
) -> Saved | Declined | None:
    """Run `attempt`; when it needs an override, ask a supervisor and run it once more with
    the approval. None when the cashier cancels the dialog. Call it from a worker: the dialog
    is awaited.
    """
    answer = await attempt(None)
    if not isinstance(answer, OverrideRequired):
        return answer
    approval = await app.push_screen_wait(OverrideScreen(till, answer, what))
    if approval is None:
        return None
    again = await attempt(approval)
    if isinstance(again, OverrideRequired):
        return Declined("the approval does not cover this action any more; try again")
    return again
