"""Supervisor approval of one action that breaks limits: badge, or code + PIN, and a reason.

Checked on the till against the cached operators (so it works offline): the approver is not
the acting cashier (the operator who attempted the action, named in `OverrideRequired`), is
active, may approve, and gives a reason. Wrong PINs count toward the approver's lockout like
any login. The approval is bound to the exact action (`BoundAction`) and travels on its op.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

from tillcrm.domain import InputRefused, Operator, OverrideApproval, check_approver, check_storable
from tillcrm.local import LoginRefused, OperatorStore
from tillcrm.till._results import OverrideRequired

__all__ = ["OverrideRefused", "approve"]


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
    """The approval of `required.action` by the supervisor whose badge or code + PIN this is.

    Raises `OverrideRefused` naming why (wrong PIN, locked, own action, not a supervisor, no
    reason, a reason that cannot be saved with the op).
    """
    try:
        check_storable(reason, "reason")
    except InputRefused as refused:
        raise OverrideRefused(str(refused)) from None
    approver = _approver(operators, badge=badge, code=code, pin=pin, now=clock())
    refusal = check_approver(approver, required.cashier_id, reason)
    if refusal is not None:
        raise OverrideRefused(refusal.value)
    return OverrideApproval(
        approval_id=uuid4(),
        supervisor_id=approver.id,
        cashier_id=required.cashier_id,
        reason=reason.strip(),
        action=required.action,
    )


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
    raise OverrideRefused("swipe a supervisor badge, or enter a supervisor code and PIN")
