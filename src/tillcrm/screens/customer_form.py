"""The customer form: create a customer or edit every field of one, with inline validation.

Each field is checked as the cashier leaves it (phone and mobile normalized to E.164 in the
till's region, email, dates, limits typed as money) and the message sits under the field;
nothing is saved while any field is wrong. An edit is sent against the version the form was
opened on: when someone else changed the customer since, the form shows both versions side by
side and the cashier keeps theirs or reapplies their own changes on the newer record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from tillcrm.api import CustomerOut
from tillcrm.domain import AuthorizedUser, CustomerProfile, InvalidPhoneError, normalize_phone
from tillcrm.screens._base import TillScreen
from tillcrm.screens._text import input_problem, sentence
from tillcrm.screens.profile.authorized import AuthorizedUserForm
from tillcrm.till import Declined, EditConflict, Saved, TillService
from tillcrm.widgets.compact_input import CompactInput
from tillcrm.widgets.money import MoneyFormat, MoneyInputError

__all__ = ["ConflictScreen", "CustomerFormScreen"]

_TEXT = {
    "customer_number": "Customer number",
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "mobile": "Mobile",
    "phone": "Phone",
    "email": "Email",
    "line1": "Address",
    "line2": "Address 2",
    "city": "City",
    "region": "Region",
    "postal_code": "Postal code",
    "country": "Country (XX)",
    "drivers_license": "Driver's license",
    "date_of_birth": "Born YYYY-MM-DD",
    "comments": "Comments",
    "store_credit_limit": "Store credit limit",
    "transaction_limit": "Transaction limit",
    "tags": "Tags (a, b)",
    "group_ids": "Groups (a, b)",
    "promotion_category_id": "Promotion category",
}
"""The text fields of the form, in order, with their labels."""
_ADDRESS = ("line1", "line2", "city", "region", "postal_code", "country")
_FLAGS = {
    "active": "Active",
    "vip": "VIP",
    "go_green": "Go green (no printed receipts)",
    "loyalty_enabled": "Loyalty program",
    "marketing_sms": "Marketing SMS",
}


class FieldError(ValueError):
    """A field's value cannot be saved; the message is shown under the field."""


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class CustomerFormScreen(TillScreen[UUID | None]):
    """Create (`customer` None) or edit a customer; dismisses with the saved customer's id."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("f6", "add_user", "Authorized user"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        till: TillService,
        money: MoneyFormat,
        customer: CustomerOut | None = None,
        *,
        phone_region: str = "US",
    ) -> None:
        super().__init__()
        self._till = till
        self._money = money
        self._customer = customer
        self._region = phone_region
        self._users: list[AuthorizedUser] = []
        self._saved_id: UUID | None = None

    def compose_body(self) -> ComposeResult:
        """Every field of the seeds' customer form, each with its error line."""
        title = "New customer" if self._customer is None else "Edit customer"
        profile = self._customer.profile if self._customer else CustomerProfile()
        with VerticalScroll():
            yield Label(title, id="form-title")
            with Grid():
                for name, label in _TEXT.items():
                    yield Label(label)
                    with Vertical(classes="field"):
                        yield CompactInput(self._shown(profile, name), id=f"f-{name}")
                        yield Static("", id=f"e-{name}", classes="field-error")
            for name, label in _FLAGS.items():
                yield Checkbox(label, getattr(profile.flags, name), id=f"flag-{name}", compact=True)
            if self._customer is None:
                yield Static("", id="form-users")
            with Horizontal(id="form-buttons"):
                yield Button("Save (Ctrl+S)", id="form-save", variant="primary", compact=True)
                if self._customer is None:
                    yield Button("Authorized user (F6)", id="form-add-user", compact=True)
                yield Button("Close (Esc)", id="form-close", compact=True)
        # Outside the scroll: what Save did stays in sight however far down the form is.
        yield Static("", id="form-result")

    def on_mount(self) -> None:
        """Start at the first name; the number is generated when left empty."""
        self.query_one("#f-customer_number", Input).placeholder = "empty: generated"
        self.query_one("#f-first_name", Input).focus()

    def _shown(self, profile: CustomerProfile, name: str) -> str:
        if name in _ADDRESS:
            return str(getattr(profile.address, name))
        value = getattr(profile, name)
        if name == "store_credit_limit":
            return self._money.plain(value) if value else ""
        if name == "transaction_limit":
            return self._money.plain(value) if value is not None else ""
        if isinstance(value, list):
            return ", ".join(value)
        return "" if value is None else str(value)

    # -- validation --------------------------------------------------------------------------

    def _parsed(self, name: str, text: str) -> Any:
        """The value of field `name` typed as `text`; raises `FieldError` with the message."""
        text = text.strip()
        parsers: dict[str, Callable[[str], Any]] = {
            "mobile": self._phone,
            "phone": self._phone,
            "date_of_birth": _birth_date,
            "store_credit_limit": lambda t: self._money_field(t) or 0,
            "transaction_limit": self._money_field,
            "tags": _split,
            "group_ids": _split,
        }
        if name in parsers:
            return parsers[name](text)
        if name in ("customer_number", "email", "promotion_category_id"):
            return text or None
        return text

    def _phone(self, text: str) -> str | None:
        if not text:
            return None
        try:
            return normalize_phone(text, self._region)
        except InvalidPhoneError as bad:
            raise FieldError(f"{bad}; include the country code, e.g. +1 212 555 0100") from bad

    def _money_field(self, text: str) -> int | None:
        if not text:
            return None
        try:
            return self._money.parse(text)
        except MoneyInputError as bad:
            raise FieldError(str(bad)) from bad

    def _check(self, name: str) -> tuple[bool, Any]:
        """Validate one field; show or clear its message."""
        error = self.query_one(f"#e-{name}", Static)
        try:
            value = self._parsed(name, self.query_one(f"#f-{name}", Input).value)
            if name not in _ADDRESS:
                CustomerProfile.model_validate({name: value})
            else:
                CustomerProfile.model_validate({"address": {name: value}})
        except FieldError as bad:
            error.update(str(bad))
            return False, None
        except ValidationError as bad:
            error.update(input_problem(bad))
            return False, None
        error.update("")
        return True, value

    @on(Input.Blurred)
    def _leave_field(self, event: Input.Blurred) -> None:
        name = (event.input.id or "").removeprefix("f-")
        if name in _TEXT:
            self._check(name)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def _profile(self) -> CustomerProfile | None:
        """The whole form as a profile, or None (with every bad field marked)."""
        values: dict[str, Any] = {}
        address: dict[str, Any] = {}
        ok = True
        for name in _TEXT:
            valid, value = self._check(name)
            ok = ok and valid
            (address if name in _ADDRESS else values)[name] = value
        if not ok:
            return None
        values["address"] = address
        values["flags"] = {n: self.query_one(f"#flag-{n}", Checkbox).value for n in _FLAGS}
        if self._customer is not None:
            values["custom_fields"] = self._customer.profile.custom_fields
        try:
            return CustomerProfile.model_validate(values)
        except ValidationError as bad:
            self._result(input_problem(bad), error=True)
            return None

    # -- saving ------------------------------------------------------------------------------

    @on(Button.Pressed, "#form-save")
    def action_save(self) -> None:
        """Validate every field, then create or edit."""
        profile = self._profile()
        if profile is None:
            self._result("Not saved: correct the fields marked in red.", error=True)
            return
        if self._customer is None:
            self._answer(self._till.create_customer(profile, authorized_users=self._users))
        else:
            self._edit(self._customer, _changes(self._customer.profile, profile))

    @work(exclusive=True, group="customer-form")
    async def _edit(self, customer: CustomerOut, changes: dict[str, Any]) -> None:
        if not changes:
            self._result("Nothing changed.")
            return
        answer = await self._till.edit_customer(customer.id, changes, customer.version)
        if isinstance(answer, EditConflict):
            keep_mine = await self.app.push_screen_wait(ConflictScreen(answer))
            if not keep_mine:
                self._result("Not saved: the newer version was kept.", error=True)
                self.dismiss(customer.id)
                return
            answer = await self._till.edit_customer(customer.id, answer.mine, answer.theirs.version)
        self._answer(answer)

    def _answer(self, answer: Saved | EditConflict | Declined) -> None:
        if isinstance(answer, Saved):
            self._result(sentence(answer.message))
            self.query_one("#form-save", Button).disabled = True
            self._saved_id = answer.op.entity_id
        elif isinstance(answer, Declined):
            self._result(f"Not saved: {answer.reason}", error=True)
        else:
            self._result("Not saved: the customer changed again; reopen the form.", error=True)

    def _result(self, text: str, *, error: bool = False) -> None:
        result = self.query_one("#form-result", Static)
        result.update(text)
        result.set_class(error, "error")

    @on(Button.Pressed, "#form-add-user")
    def action_add_user(self) -> None:
        """A new customer's authorized users are saved with the customer."""
        if self._customer is not None:
            return

        def added(user: AuthorizedUser | None) -> None:
            if user is not None:
                self._users.append(user)
                names = ", ".join(f"{u.first_name} {u.last_name}".strip() for u in self._users)
                self.query_one("#form-users", Static).update(f"Authorized users: {names}")

        self.app.push_screen(AuthorizedUserForm(self._till, self._region), added)

    @on(Button.Pressed, "#form-close")
    def action_close(self) -> None:
        """Leave the form; with the saved customer's id when something was saved."""
        self.dismiss(self._saved_id)


def _birth_date(text: str) -> date | None:
    if not text:
        return None
    try:
        born = date.fromisoformat(text)
    except ValueError as bad:
        raise FieldError("a date is YYYY-MM-DD, e.g. 1980-04-30") from bad
    if born > date.today():
        raise FieldError("the date of birth is in the future")
    return born


def _changes(before: CustomerProfile, after: CustomerProfile) -> dict[str, Any]:
    """The top-level fields that differ, as JSON values (they travel in an op)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {name: value for name, value in new.items() if old.get(name) != value}


class ConflictScreen(ModalScreen[bool]):
    """The cashier's changes beside the current record: keep theirs (False) or reapply mine."""

    CSS_PATH = "screens.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "decide(True)", "Keep mine"),
        Binding("t,escape", "decide(False)", "Keep theirs"),
    ]

    def __init__(self, conflict: EditConflict) -> None:
        super().__init__()
        self._conflict = conflict

    def compose(self) -> ComposeResult:
        """Field, mine, theirs, for every field the cashier changed."""
        theirs = self._conflict.theirs.profile.model_dump(mode="json")
        table: DataTable[str] = DataTable(id="conflict-table", cursor_type="row")
        table.add_columns("Field", "Mine", f"Theirs (version {self._conflict.theirs.version})")
        for name, mine in self._conflict.mine.items():
            table.add_row(name, _cell(mine), _cell(theirs.get(name)), key=name)
        with VerticalScroll():
            yield Label(
                f"Someone changed this customer since you opened it (version "
                f"{self._conflict.base_version} -> {self._conflict.theirs.version})."
            )
            yield table
            with Horizontal():
                yield Button("Keep mine (m)", id="keep-mine", variant="warning", compact=True)
                yield Button("Keep theirs (t)", id="keep-theirs", variant="primary", compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "keep-mine")

    def action_decide(self, mine: bool) -> None:
        """Answer from the keyboard."""
        self.dismiss(mine)


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in ("", None, False))
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
