"""Operators (cashiers, supervisors) and supervisor overrides bound to one action."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tillcrm.domain.bounds import Int64, Name, Text
from tillcrm.domain.limits import LimitKind

__all__ = [
    "BoundAction",
    "Operator",
    "OverrideApproval",
    "OverrideRefusal",
    "Role",
    "check_approver",
]


class Role(StrEnum):
    """What an operator may do: supervisors and managers approve overrides."""

    CASHIER = "cashier"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"

    @property
    def can_approve(self) -> bool:
        """Only supervisors and managers approve overrides."""
        return self is not Role.CASHIER


class Operator(BaseModel):
    """A person who works a till; the PIN and badge hashes are cached for offline login."""

    model_config = ConfigDict(frozen=True)

    id: str
    code: str
    name: str
    role: Role = Role.CASHIER
    pin_hash: str
    badge_hash: str | None = None
    """scrypt hash of the operator's badge card value, for a swipe instead of code + PIN."""
    active: bool = True


def _each_once(limits: object) -> object:
    """`limits`, refused (ValueError) when a list names a limit twice: the schema promises
    unique items, and a set would silently fold the repeat away."""
    if isinstance(limits, list | tuple) and len(set(map(str, limits))) != len(limits):
        raise ValueError("each limit may be named once")
    return limits


class BoundAction(BaseModel):
    """The one action an override approves: it is worthless for any other customer or amount."""

    model_config = ConfigDict(frozen=True)

    customer_id: UUID
    kind: Name
    """The op type it approves (for example `stored_value_charge`)."""
    amount: Int64
    limits: Annotated[frozenset[LimitKind], BeforeValidator(_each_once)]
    """The limits the supervisor agreed may be exceeded."""


class OverrideApproval(BaseModel):
    """A supervisor's approval travelling with the op and landing in the audit log."""

    model_config = ConfigDict(frozen=True)

    approval_id: UUID
    """Minted when the supervisor approves: the CRM lets one approval through for one action
    only, so it cannot be replayed for another (the same op resent is still one action)."""
    supervisor_id: Name
    cashier_id: Name
    reason: Annotated[Text, Field(max_length=1000)]
    action: BoundAction
    verification_id: UUID | None = None
    """The CRM's proof that it checked the supervisor's PIN or badge itself (online); None
    when the till could only check it against its cached hashes (offline), which the CRM
    accepts but flags for review."""

    def covers(self, customer_id: UUID, kind: str, amount: int, breaches: set[LimitKind]) -> bool:
        """True when this approval is for exactly this action and every limit it breaks."""
        return (
            self.action.customer_id == customer_id
            and self.action.kind == kind
            and self.action.amount == amount
            and breaches <= self.action.limits
        )


class OverrideRefusal(StrEnum):
    """Why an operator cannot approve an override."""

    SELF_APPROVAL = "a cashier cannot approve their own action"
    NOT_SUPERVISOR = "only a supervisor or manager can approve"
    INACTIVE = "this operator is not active"
    NO_REASON = "a reason is required"


def check_approver(approver: Operator, cashier_id: str, reason: str) -> OverrideRefusal | None:
    """Why `approver` may not approve the acting cashier's action, or None when they may."""
    if approver.id == cashier_id:
        return OverrideRefusal.SELF_APPROVAL
    if not approver.active:
        return OverrideRefusal.INACTIVE
    if not approver.role.can_approve:
        return OverrideRefusal.NOT_SUPERVISOR
    if not reason.strip():
        return OverrideRefusal.NO_REASON
    return None
