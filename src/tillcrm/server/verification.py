"""The CRM checks a supervisor's PIN or badge itself, so an online till cannot simply claim
that a supervisor approved an override.

`verify_supervisor` (`POST /v1/operators/verify`) checks the PIN or badge against the CRM's
own scrypt hash and answers a single-use verification bound to the till and the supervisor,
valid for `VERIFICATION_TTL`. The override's approval carries its id, and `spend_approval`
uses it up in the transaction of the op it approves. An approval without one (the till was
offline and checked its cached hashes) is accepted but flagged for review.

Wrong tries are counted on the operator's row, so a restart lifts no lockout. A try is
counted before its (slow) scrypt check and taken back when it matches: tries racing in
parallel cannot get more than `MAX_WRONG_PINS` guesses past the lock. A till may make at most
`TILL_WRONG_TRIES` wrong tries a `TILL_WINDOW`, whichever operators it names, so a stolen
till cannot guess five PINs of every operator in turn. Every try is audited with who was tried,
from which till and the result, never the PIN; the audit log is also what counts a till's
tries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tillcrm.api import (
    OPERATOR_LOCKED,
    TILL_THROTTLED,
    SupervisorVerified,
    SupervisorVerifyRequest,
)
from tillcrm.domain import Operator, OverrideApproval, verify_pin
from tillcrm.server.audit import audit_action
from tillcrm.server.context import Till
from tillcrm.server.customer_view import as_utc
from tillcrm.server.db import writing
from tillcrm.server.errors import ApiError, Rejection
from tillcrm.server.operators import till_operator
from tillcrm.server.tables import audit_log, operators, override_approvals, supervisor_verifications

__all__ = [
    "LOCKOUT",
    "MAX_WRONG_PINS",
    "TILL_WINDOW",
    "TILL_WRONG_TRIES",
    "VERIFICATION_TTL",
    "spend_approval",
    "verify_supervisor",
]

MAX_WRONG_PINS = 5
LOCKOUT = timedelta(minutes=15)
"""Five wrong tries lock the operator this long (the till's own default lockout too)."""
VERIFICATION_TTL = timedelta(minutes=5)
"""Long enough for the till to finish the sale and push its op; short enough that a
verification overheard or left unused is soon worthless."""

TILL_WRONG_TRIES = 20
TILL_WINDOW = LOCKOUT
"""A till's wrong tries (any operator) in any window of this length: a supervisor mistypes
now and then, a stolen till guessing would try five of every operator's."""

VERIFY_ACTION = "supervisor_verify"
THROTTLED_ACTION = "supervisor_verify_throttled"
"""A try refused for the till's pace is audited under its own action: it was not checked."""
_NOT_ACCEPTED = "wrong PIN or badge"
_NO_OPERATOR = "no active operator of this store by that id"


@dataclass(frozen=True)
class _Refusal:
    """A refused try: the error the till gets, and its cause as the audit log keeps it."""

    error: ApiError
    audited: str


@dataclass(frozen=True)
class _Try:
    """A try counted against the operator before its check: the operator and their count."""

    operator: Operator
    wrong: int


def verify_supervisor(
    engine: Engine, till: Till, request: SupervisorVerifyRequest, *, now: datetime | None = None
) -> SupervisorVerified:
    """Check the supervisor's PIN or badge for `till`; 403 when it does not match (or names
    no active operator of the till's store: the same answer), 429 with `Retry-After` while
    the operator is locked. Two short transactions around the scrypt check, so no database
    lock is held while it runs."""
    now = now or datetime.now(UTC)
    with writing(engine) as conn:
        throttled = _till_pace(conn, till, now)
        if throttled is not None:
            counted: _Try | _Refusal = throttled
            audit_action(
                conn,
                till,
                request.supervisor_id,
                None,
                action=THROTTLED_ACTION,
                detail=throttled.audited,
                at=now,
            )
        else:
            counted = _count_try(conn, till, request.supervisor_id, now)
            if isinstance(counted, _Refusal):
                audit_action(
                    conn,
                    till,
                    request.supervisor_id,
                    None,
                    action=VERIFY_ACTION,
                    detail=counted.audited,
                    at=now,
                )
    if isinstance(counted, _Refusal):  # raised once its audit entry is committed
        raise counted.error
    operator = counted.operator
    encoded = operator.badge_hash if request.badge is not None else operator.pin_hash
    secret = request.badge if request.badge is not None else request.pin
    matched = encoded is not None and secret is not None and verify_pin(secret, encoded)
    with writing(engine) as conn:
        if matched:
            conn.execute(
                operators.update()
                .where(operators.c.id == operator.id)
                .values(wrong_pins=0, locked_until=None)
            )
        answer = _answer(conn, till, counted, matched=matched, now=now)
        audited = answer.audited if isinstance(answer, _Refusal) else "verified"
        audit_action(conn, till, operator.id, None, action=VERIFY_ACTION, detail=audited, at=now)
    if isinstance(answer, _Refusal):
        raise answer.error
    return answer


def _till_pace(conn: Connection, till: Till, now: datetime) -> _Refusal | None:
    """429 while `till` has made `TILL_WRONG_TRIES` wrong tries in the last `TILL_WINDOW`
    (read from the audit log), with the seconds until the oldest of them leaves the window;
    None when it may try."""
    wrong = (
        conn.execute(
            sa.select(audit_log.c.at)
            .where(
                audit_log.c.till_id == till.id,
                audit_log.c.action == VERIFY_ACTION,
                audit_log.c.at > now - TILL_WINDOW,
                sa.or_(
                    audit_log.c.detail.startswith(_NOT_ACCEPTED, autoescape=True),
                    audit_log.c.detail == _NO_OPERATOR,
                ),
            )
            .order_by(audit_log.c.at.desc())
            .limit(TILL_WRONG_TRIES)
        )
        .scalars()
        .all()
    )
    if len(wrong) < TILL_WRONG_TRIES:
        return None
    return _too_many(
        as_utc(wrong[-1]) + TILL_WINDOW - now,
        TILL_THROTTLED,
        "throttled",
        f"this till made {TILL_WRONG_TRIES} wrong supervisor checks in "
        f"{TILL_WINDOW.seconds // 60} minutes",
    )


def _count_try(conn: Connection, till: Till, supervisor_id: str, now: datetime) -> _Try | _Refusal:
    """Count one more try against the supervisor (a lock that has run out starts the count
    again), or the refusal: no such active operator here, or locked."""
    operator = till_operator(conn, till, supervisor_id)
    if operator is None or not operator.active:
        return _refused(_NO_OPERATOR)
    row = conn.execute(
        sa.select(operators.c.wrong_pins, operators.c.locked_until)
        .where(operators.c.id == operator.id)
        .with_for_update()
    ).one()
    locked_until = as_utc(row.locked_until) if row.locked_until is not None else None
    if locked_until is not None and locked_until > now:
        return _locked(locked_until - now)
    wrong = 1 if locked_until is not None else row.wrong_pins + 1
    conn.execute(
        operators.update()
        .where(operators.c.id == operator.id)
        .values(wrong_pins=wrong, locked_until=now + LOCKOUT if wrong >= MAX_WRONG_PINS else None)
    )
    return _Try(operator, wrong)


def _answer(
    conn: Connection, till: Till, counted: _Try, *, matched: bool, now: datetime
) -> SupervisorVerified | _Refusal:
    """The verification of a matching supervisor, else the refusal to answer."""
    if not matched:
        if counted.wrong >= MAX_WRONG_PINS:
            return _locked(LOCKOUT)
        return _refused(f"{_NOT_ACCEPTED} ({counted.wrong} of {MAX_WRONG_PINS})")
    if not counted.operator.role.can_approve:
        refusal = "only a supervisor or manager can approve"
        return _Refusal(ApiError(403, "not_supervisor", refusal), refusal)
    verified = SupervisorVerified(
        verification_id=uuid4(),
        supervisor_id=counted.operator.id,
        expires_at=now + VERIFICATION_TTL,
    )
    conn.execute(
        supervisor_verifications.insert().values(
            verification_id=verified.verification_id,
            till_id=till.id,
            supervisor_id=verified.supervisor_id,
            issued_at=now,
            expires_at=verified.expires_at,
        )
    )
    return verified


def _refused(audited: str) -> _Refusal:
    """403 saying only that it did not match; `audited` (the real cause) goes to the log."""
    return _Refusal(ApiError(403, "not_verified", _NOT_ACCEPTED), audited)


def _locked(left: timedelta) -> _Refusal:
    """429 for a locked operator, with the seconds until the lock runs out."""
    return _too_many(
        left,
        OPERATOR_LOCKED,
        "locked",
        f"this operator is locked after {MAX_WRONG_PINS} wrong tries",
    )


def _too_many(left: timedelta, code: str, audited: str, why: str) -> _Refusal:
    """429 saying why and, in `Retry-After` and the message, the seconds `left` to wait;
    `audited` names it in the audit log."""
    seconds = max(1, math.ceil(left.total_seconds()))
    error = ApiError(
        429, code, f"{why}; try again in {seconds} s", headers={"Retry-After": str(seconds)}
    )
    return _Refusal(error, f"{audited} ({seconds} s left)")


def spend_approval(
    conn: Connection, till: Till, approval: OverrideApproval, *, op_id: UUID | None, online: bool
) -> str:
    """Record the approval as used by this action; why it needs review, "" when it does not.

    An approval carrying a verification uses it up: it must be this till's, for this
    supervisor and unused. One that expired before the op arrived (the network went down
    after the supervisor was verified) is as good as one checked offline: accepted for
    review, unless the action is `online` (a request the till makes while the CRM answers).
    One without a verification is accepted only where the till may have been offline (not
    `online`), for review. Raises `Rejection` for an approval used before (a replay) or a
    verification that does not hold. The caller's transaction (an op's savepoint) undoes
    both if the action fails.
    """
    used_by = conn.execute(
        sa.select(override_approvals.c.op_id).where(
            override_approvals.c.approval_id == approval.approval_id
        )
    ).one_or_none()
    if used_by is not None:
        raise Rejection(APPROVAL_USED)
    now = datetime.now(UTC)
    review = REVIEW_OFFLINE
    if approval.verification_id is not None:
        spent = conn.execute(
            supervisor_verifications.update()
            .where(
                supervisor_verifications.c.verification_id == approval.verification_id,
                supervisor_verifications.c.till_id == till.id,
                supervisor_verifications.c.supervisor_id == approval.supervisor_id,
                supervisor_verifications.c.used_at.is_(None),
            )
            .values(used_at=now, op_id=op_id)
            .returning(supervisor_verifications.c.expires_at)
        ).one_or_none()
        in_time = spent is not None and as_utc(spent.expires_at) > now
        if spent is None or (online and not in_time):
            raise Rejection(VERIFICATION_UNUSABLE)
        review = "" if in_time else REVIEW_LATE
    elif online:
        raise Rejection(VERIFICATION_NEEDED)
    conn.execute(
        override_approvals.insert().values(
            approval_id=approval.approval_id,
            op_id=op_id,
            till_id=till.id,
            used_at=now,
            supervisor_id=approval.supervisor_id,
            cashier_id=approval.cashier_id,
            reason=approval.reason,
            needs_review=bool(review),
        )
    )
    return review


APPROVAL_USED = "this approval was already used for another action"
VERIFICATION_UNUSABLE = (
    "the supervisor's verification is unknown, used, expired, or for another till or supervisor"
)
REVIEW_OFFLINE = "checked only by the till (offline)"
REVIEW_LATE = "verified by the CRM, but the op came after its verification expired"
VERIFICATION_NEEDED = "the CRM must verify the supervisor's PIN or badge for this action"
