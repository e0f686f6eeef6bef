"""The answers `TillService` gives the UI: each says plainly what happened, never raises for a
business outcome (a limit, a conflict, a decline), so a screen can match on the type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from tillcrm.api import CustomerOut, CustomerSummary, Op
from tillcrm.domain import BoundAction, InputRefused, LimitBreach, check_storable, refused_input
from tillcrm.domain.customer import IdentifierKind

__all__ = [
    "Ambiguous",
    "BalanceInquiry",
    "Declined",
    "EditConflict",
    "Identification",
    "NotFound",
    "Offline",
    "OverrideRequired",
    "RegisterHere",
    "Saved",
]


@dataclass(frozen=True)
class Saved:
    """The write committed on the till (and was fsynced): the op waits in the outbox.

    `queued` is True when the CRM could not be reached: the op syncs when it is back.
    """

    op: Op
    queued: bool

    @property
    def message(self) -> str:
        """What the cashier reads."""
        return "saved, queued until the CRM is back" if self.queued else "saved"


@dataclass(frozen=True)
class OverrideRequired:
    """The action breaks limits: a supervisor must approve exactly `action` to go ahead."""

    action: BoundAction
    cashier_id: str
    """The acting operator: the one operator who may not approve it."""
    breaches: Sequence[LimitBreach]

    def lines(self) -> list[str]:
        """One line per limit and its excess, for the override dialog."""
        return [breach.describe() for breach in self.breaches]


@dataclass(frozen=True)
class Declined:
    """The till will not take this action; `reason` is for the cashier's screen."""

    reason: str

    @classmethod
    def invalid(cls, error: ValidationError) -> Declined:
        """The first thing wrong with what the cashier entered, as `field: message`; input
        no database can store says so in the cashier's words (`refused_input`)."""
        refused = refused_input(error)
        if refused is not None:
            return cls.refused(refused)
        first = error.errors()[0]
        return cls(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")

    @classmethod
    def refused(cls, refused: InputRefused) -> Declined:
        """Input no database can store: nothing is saved or queued."""
        return cls(str(refused))

    @classmethod
    def unstorable(cls, payload: BaseModel) -> Declined | None:
        """The refusal of an op's payload no database can store (`check_storable`), checked
        on every write before its op is queued: a model built without validation, or a field
        its model leaves open, still cannot strand the queue at a CRM that never takes it."""
        try:
            check_storable(payload)
        except InputRefused as refused:
            return cls.refused(refused)
        return None


@dataclass(frozen=True)
class Offline:
    """This needs the CRM and it cannot be reached now (wallet, gift-card loads, history)."""

    what: str

    @property
    def message(self) -> str:
        """What the cashier reads."""
        return f"{self.what} needs the CRM, which cannot be reached now"


@dataclass(frozen=True)
class NotFound:
    """Nobody in this till's scope has this card, tag, phone or number."""

    reason: str = "no customer found"
    register: RegisterHere | None = None
    """Set when the connected parent has this customer: the cashier may register them here."""


@dataclass(frozen=True)
class RegisterHere:
    """A card or phone of the connected parent's customer, not yet registered at this child
    organization: what `TillService.register_here` takes, and whom to name when asking."""

    parent: str
    """The parent organization's name."""
    kind: IdentifierKind
    value: str


@dataclass(frozen=True)
class Ambiguous:
    """A typed phone number belongs to several customers: the cashier picks one."""

    candidates: list[CustomerSummary]


@dataclass(frozen=True)
class Identification:
    """The customer identified, where the record came from, and the visit op recorded."""

    customer: CustomerOut
    source: Literal["cache", "crm"]
    visit: Saved


@dataclass(frozen=True)
class BalanceInquiry:
    """A balance and how current it is: live from the CRM, or the cached value and its age."""

    balance: int | None
    """Minor units; None when the customer has no such account."""
    currency: str
    as_of: datetime
    live: bool
    now: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    """Live only: the CRM's answer (limits and their use in this event and season)."""

    @property
    def age(self) -> timedelta:
        """How old the balance is."""
        return self.now - self.as_of


@dataclass(frozen=True)
class EditConflict:
    """The customer changed since the cashier opened the form: both versions, side by side."""

    mine: dict[str, Any]
    """The cashier's changed fields."""
    theirs: CustomerOut
    """The current record (the CRM's when reachable, else the cache's)."""
    base_version: int
