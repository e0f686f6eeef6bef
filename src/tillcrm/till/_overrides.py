"""Supervisor approval of one action that breaks limits: badge, or code + PIN, and a reason.

The approver is not the acting cashier (the operator who attempted the action, named in
`OverrideRequired`), is active, may approve, and gives a reason. Online, the CRM checks the
PIN or badge itself and its verification travels on the approval (`verified_approval`);
offline, the till checks its cached hashes (`approve`), wrong PINs counting toward the
approver's lockout like any login, and the CRM flags the op for review. Either way the
approval is bound to the exact action (`BoundAction`) and travels on its op.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID, uuid4

from tillcrm.api import MAX_SECRET
from tillcrm.domain import (
    InputRefused,
    Operator,
    OverrideApproval,
    check_approver,
    check_storable,
    storable,
)
from tillcrm.local import LoginRefusal, LoginRefused, OperatorStore
from tillcrm.till._results import OverrideRequired

__all__ = ["OverrideRefused", "approval_of", "approve", "claimed_approver"]

_NO_APPROVER = "swipe a supervisor badge, or enter a supervisor code and PIN"
TOO_LONG = "the PIN or badge is longer than any a keypad or card gives; retype it"


class OverrideRefused(Exception):
    """The approval was not given; the message is for the override dialog."""


def approve(
    operators: OperatorStore,
    required: OverrideRequired,
    *,
    reason: str,
    badge: str | None = None,
    code: str | None = None,
    pin: str | None = None,
    clock: Callable[[], float] = time.time,
) -> OverrideApproval:
    """The approval of `required.action` by the supervisor whose badge or code + PIN this is,
    checked against the cached hashes (offline).

    Raises `OverrideRefused` naming why (wrong PIN, locked, own action, not a supervisor, no
    reason, a reason that cannot be saved with the op).
    """
    approver = _approver(operators, badge=badge, code=code, pin=pin, now=clock())
    return approval_of(required, approver, reason)


def approval_of(
    required: OverrideRequired,
    approver: Operator,
    reason: str,
    *,
    verification_id: UUID | None = None,
) -> OverrideApproval:
    """`approver`'s approval of `required.action` (with the CRM's verification when online);
    raises `OverrideRefused` when they may not give it or the reason cannot be saved."""
    try:
        check_storable(reason, "reason")
    except InputRefused as refused:
        raise OverrideRefused(str(refused)) from None
    refusal = check_approver(approver, required.cashier_id, reason)
    if refusal is not None:
        raise OverrideRefused(refusal.value)
    return OverrideApproval(
        approval_id=uuid4(),
        supervisor_id=approver.id,
        cashier_id=required.cashier_id,
        reason=reason.strip(),
        action=required.action,
        verification_id=verification_id,
    )


def claimed_approver(
    operators: OperatorStore, *, badge: str | None, code: str | None, pin: str | None
) -> Operator:
    """Whom the badge or code names, for the CRM to verify: a code is looked up unchecked
    (the CRM checks its PIN), a badge is matched against the cached badge hashes (a swipe
    names no operator). Raises `OverrideRefused` when it names nobody here, or holds what
    no keypad or card gives (the CRM would not read it)."""
    if len(badge or pin or "") > MAX_SECRET:
        raise OverrideRefused(TOO_LONG)
    if badge:
        try:
            return operators.check_badge(badge)
        except LoginRefused as exc:
            raise OverrideRefused(str(exc)) from exc
    if code and pin:
        if not storable((code, pin)):
            raise OverrideRefused(LoginRefusal.UNREADABLE.value)
        operator = operators.by_code(code)
        if operator is None:
            raise OverrideRefused(LoginRefusal.UNKNOWN.value)
        return operator
    raise OverrideRefused(_NO_APPROVER)


def _approver(
    operators: OperatorStore, *, badge: str | None, code: str | None, pin: str | None, now: float
) -> Operator:
    try:
        if badge:
            return operators.check_badge(badge)
        if code and pin:
            return operators.check_pin(code, pin, now)
    except LoginRefused as exc:
        raise OverrideRefused(str(exc)) from exc
    raise OverrideRefused(_NO_APPROVER)
