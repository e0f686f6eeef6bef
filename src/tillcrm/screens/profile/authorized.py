"""The Authorized users tab: people allowed to charge the house account or place preorders.

Add a new person, or find an existing customer by name or phone and assign them; unassign
with a confirmation. The grid comes from the customer record, so it shows offline too.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from tillcrm.api import CustomerOut, CustomerSummary
from tillcrm.domain import AuthorizedUser, InvalidPhoneError, display_phone, normalize_phone
from tillcrm.screens._text import input_problem, sentence
from tillcrm.screens.profile._tab import ProfileTab
from tillcrm.till import Declined, Saved, TillService
from tillcrm.widgets.compact_input import CompactInput

__all__ = ["AuthorizedUserForm", "AuthorizedUsersTab"]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


class AuthorizedUserForm(ModalScreen[AuthorizedUser | None]):
    """A new authorized user, typed or picked from the customers found by name or phone.

    A person picked from the search keeps their customer id as their authorized-user id, so
    the same person is recognised on every account they may act for.
    """

    CSS_PATH = "profile.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, till: TillService, phone_region: str) -> None:
        super().__init__()
        self._till = till
        self._region = phone_region
        self._found: dict[str, CustomerSummary] = {}
        self._picked: UUID | None = None

    def compose(self) -> ComposeResult:
        """Find an existing person, or type a new one."""
        with Vertical():
            yield Label("Authorize a person")
            yield CompactInput(placeholder="Find existing by name or phone, Enter", id="user-find")
            found: DataTable[str] = DataTable(id="user-found", cursor_type="row")
            found.add_columns("Number", "Name", "Mobile")
            yield found
            with Horizontal():
                yield CompactInput(placeholder="First name", id="user-first", classes="half")
                yield CompactInput(placeholder="Last name", id="user-last", classes="half")
            yield CompactInput(
                placeholder="Phone with country code, e.g. +1 212 555 0100",
                id="user-phone",
            )
            with Horizontal():
                yield Checkbox("Allow invoicing", id="user-invoicing", compact=True)
                yield Checkbox("Allow preorders", id="user-preorders", compact=True)
            yield Static("", id="user-error")
            with Horizontal():
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Input.Submitted, "#user-find")
    async def _find(self, event: Input.Submitted) -> None:
        event.stop()
        table = self.query_one("#user-found", DataTable)
        table.clear()
        self._found = {str(row.id): row for row in await self._till.search(event.value)}
        for key, row in self._found.items():
            table.add_row(
                row.customer_number,
                f"{row.first_name} {row.last_name}",
                display_phone(row.mobile, self._region),
                key=key,
            )
        if self._found:
            table.focus()

    @on(DataTable.RowSelected, "#user-found")
    def _pick(self, event: DataTable.RowSelected) -> None:
        row = self._found[event.row_key.value or ""]
        self._picked = row.id
        self.query_one("#user-first", Input).value = row.first_name
        self.query_one("#user-last", Input).value = row.last_name
        self.query_one("#user-phone", Input).value = row.mobile or ""
        self.query_one("#user-invoicing", Checkbox).focus()

    @on(Input.Submitted, "#user-first, #user-last, #user-phone")
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Check the name and phone, then hand the new user back."""
        first = self.query_one("#user-first", Input).value.strip()
        typed_phone = self.query_one("#user-phone", Input).value.strip()
        error = self.query_one("#user-error", Static)
        try:
            phone = normalize_phone(typed_phone, self._region) if typed_phone else None
        except InvalidPhoneError as bad:
            error.update(f"Phone: {bad}")
            return
        try:
            user = AuthorizedUser(
                id=self._picked or uuid4(),
                first_name=first,
                last_name=self.query_one("#user-last", Input).value.strip(),
                phone=phone,
                allow_invoicing=self.query_one("#user-invoicing", Checkbox).value,
                allow_preorders=self.query_one("#user-preorders", Checkbox).value,
            )
        except ValidationError as bad:
            error.update(
                input_problem(
                    bad, "Check the name (a first name is required, 200 characters at most)."
                )
            )
            return
        if not first:
            error.update("A first name is required.")
            return
        self.dismiss(user)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Nothing saved."""
        self.dismiss(None)


class AuthorizedUsersTab(ProfileTab):
    """Name, phone, allow invoicing, allow preorders."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_user", "Add user"),
        Binding("delete", "remove_user", "Unassign"),
    ]

    def compose(self) -> ComposeResult:
        """The grid."""
        table: DataTable[str] = DataTable(id="users-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Phone", "Invoicing", "Preorders")
        yield table
        yield Static("a: add or assign   Delete: unassign", classes="actions")

    def draw(self, customer: CustomerOut) -> None:
        """The authorized users on the customer record (cached, so offline too)."""
        table = self.query_one("#users-table", DataTable)
        table.clear()
        for user in customer.authorized_users:
            table.add_row(
                f"{user.first_name} {user.last_name}".strip(),
                display_phone(user.phone, self.context.phone_region),
                _yes(user.allow_invoicing),
                _yes(user.allow_preorders),
                key=str(user.id),
            )

    def _selected(self) -> AuthorizedUser | None:
        key = self.selected_key("users-table")
        if self.customer is None or key is None:
            return None
        return next((u for u in self.customer.authorized_users if str(u.id) == key), None)

    def action_add_user(self) -> None:
        """Open the form; save the person it returns."""
        if self.customer is None:
            return
        customer_id = self.customer.id

        def added(user: AuthorizedUser | None) -> None:
            if user is not None:
                self._done(self.till.add_authorized_user(customer_id, user))

        self.app.push_screen(AuthorizedUserForm(self.till, self.context.phone_region), added)

    def action_remove_user(self) -> None:
        """Unassign the selected person after a confirmation."""
        user = self._selected()
        if user is None or self.customer is None:
            return
        customer_id = self.customer.id
        name = f"{user.first_name} {user.last_name}".strip()
        self.confirm_then(
            f"Unassign {name} from this customer?",
            lambda: self._done(self.till.remove_authorized_user(customer_id, user.id)),
        )

    def _done(self, answer: Saved | Declined) -> None:
        if isinstance(answer, Declined):
            self.notify_result(answer.reason, error=True)
            return
        self.notify_result(sentence(answer.message))
        self.customer_changed()
