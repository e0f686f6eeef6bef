"""Operators cached on the till, so login and supervisor approval work with the CRM down.

PINs and badges are checked against the CRM's scrypt hashes. Wrong PINs are counted per
operator in the database (not in memory), so restarting the till does not reset a lockout.

A badge swipe names no operator, and scrypt is slow on purpose (tens of milliseconds): trying
every operator's badge hash made a swipe O(operators). Beside each badge hash the till keeps a
fast keyed hash of the badge (HMAC-SHA256 under a random key of this till, never sent
anywhere), learned the first time the operator's badge matched: a swipe looks that up and runs
scrypt once. Only operators whose badge never matched here are still tried one by one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum

from tillcrm.domain import Operator, storable, verify_pin
from tillcrm.local.db import TillDatabase

__all__ = ["LoginRefusal", "LoginRefused", "OperatorStore", "PinPolicy"]

_LOOKUP_KEY = "badge_lookup_key"


class LoginRefusal(StrEnum):
    """Why a code + PIN or a badge was not accepted."""

    UNKNOWN = "unknown operator code"
    WRONG_PIN = "wrong PIN"
    LOCKED = "operator locked after too many wrong PINs"
    INACTIVE = "this operator is not active"
    UNKNOWN_BADGE = "badge not recognised"
    UNREADABLE = "the code, PIN or badge holds a character no card or keypad gives; retype it"


class LoginRefused(Exception):
    """A login or approval was refused; the message is for the cashier's screen."""

    def __init__(
        self,
        reason: LoginRefusal,
        *,
        attempts_left: int | None = None,
        locked_until: float | None = None,
    ) -> None:
        message = reason.value
        if attempts_left is not None:
            message += f" ({attempts_left} attempt{'s' if attempts_left != 1 else ''} left)"
        super().__init__(message)
        self.reason = reason
        self.attempts_left = attempts_left
        self.locked_until = locked_until


@dataclass(frozen=True)
class PinPolicy:
    """How many wrong PINs lock an operator, and for how long."""

    max_attempts: int = 5
    lockout_seconds: float = 15 * 60


class OperatorStore:
    """The till's copy of its operators, replaced whole on every refresh from the CRM."""

    def __init__(self, db: TillDatabase, policy: PinPolicy) -> None:
        self._db = db
        self._policy = policy

    def replace_all(self, operators: list[Operator]) -> None:
        """Store the CRM's list, keeping wrong-PIN counts and lockouts of those still listed."""
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM operators WHERE id NOT IN (SELECT value FROM json_each(?))",
                (json.dumps([op.id for op in operators]),),
            )
            # A learned badge lookup stays while the badge hash it was learned against does.
            conn.executemany(
                "INSERT INTO operators (id, code, record) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET code = excluded.code, record = excluded.record, "
                "badge_lookup = CASE WHEN json_extract(operators.record, '$.badge_hash') IS "
                "json_extract(excluded.record, '$.badge_hash') THEN operators.badge_lookup END",
                [(op.id, op.code, op.model_dump_json()) for op in operators],
            )

    def count(self) -> int:
        """How many operators could log in here."""
        return int(self._db.read("SELECT count(*) FROM operators")[0][0])

    def get(self, operator_id: str) -> Operator | None:
        """The cached operator with this id."""
        rows = self._db.read("SELECT record FROM operators WHERE id = ?", (operator_id,))
        return Operator.model_validate_json(rows[0][0]) if rows else None

    def check_pin(self, code: str, pin: str, now: float) -> Operator:
        """The operator whose code and PIN these are; counts wrong PINs and locks.

        Raises `LoginRefused`. A locked operator is refused even with the right PIN.
        """
        _readable(code, pin)
        rows = self._db.read(
            "SELECT record, failed_attempts, locked_until FROM operators WHERE code = ?",
            (code.strip(),),
        )
        if not rows:
            raise LoginRefused(LoginRefusal.UNKNOWN)
        operator = Operator.model_validate_json(rows[0]["record"])
        locked_until = rows[0]["locked_until"]
        if locked_until is not None and locked_until > now:
            raise LoginRefused(LoginRefusal.LOCKED, locked_until=locked_until)
        if not verify_pin(pin, operator.pin_hash):
            raise self._count_wrong_pin(operator, rows[0]["failed_attempts"], now)
        if not operator.active:
            raise LoginRefused(LoginRefusal.INACTIVE)
        with self._db.write() as conn:
            conn.execute(
                "UPDATE operators SET failed_attempts = 0, locked_until = NULL WHERE id = ?",
                (operator.id,),
            )
        return operator

    def check_badge(self, badge: str) -> Operator:
        """The active operator whose badge card this is (a swipe instead of code + PIN).

        One scrypt check for a badge swiped here before; the first swipe of an operator's
        badge tries the operators not yet learned, and remembers the match.
        """
        _readable(badge)
        lookup = hmac.new(self._lookup_key(), badge.encode(), hashlib.sha256).hexdigest()
        known = self._db.read("SELECT record FROM operators WHERE badge_lookup = ?", (lookup,))
        unlearned = self._db.read(
            "SELECT record FROM operators WHERE badge_lookup IS NULL "
            "AND json_extract(record, '$.badge_hash') IS NOT NULL ORDER BY id"
        )
        for row in [*known, *unlearned]:
            operator = Operator.model_validate_json(row[0])
            if operator.badge_hash and verify_pin(badge, operator.badge_hash):
                with self._db.write() as conn:
                    conn.execute(
                        "UPDATE operators SET badge_lookup = ? WHERE id = ?", (lookup, operator.id)
                    )
                if not operator.active:
                    raise LoginRefused(LoginRefusal.INACTIVE)
                return operator
        raise LoginRefused(LoginRefusal.UNKNOWN_BADGE)

    def _lookup_key(self) -> bytes:
        """This till's key for badge lookups, made on first use and kept in `meta`."""
        rows = self._db.read("SELECT value FROM meta WHERE key = ?", (_LOOKUP_KEY,))
        if not rows:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    (_LOOKUP_KEY, secrets.token_hex(32)),
                )
            rows = self._db.read("SELECT value FROM meta WHERE key = ?", (_LOOKUP_KEY,))
        return bytes.fromhex(rows[0][0])

    def _count_wrong_pin(self, operator: Operator, failed: int, now: float) -> LoginRefused:
        failed += 1
        locked = failed >= self._policy.max_attempts
        locked_until = now + self._policy.lockout_seconds if locked else None
        with self._db.write() as conn:
            conn.execute(
                "UPDATE operators SET failed_attempts = ?, locked_until = ? WHERE id = ?",
                (0 if locked else failed, locked_until, operator.id),
            )
        if locked:
            return LoginRefused(LoginRefusal.LOCKED, locked_until=locked_until)
        return LoginRefused(
            LoginRefusal.WRONG_PIN, attempts_left=self._policy.max_attempts - failed
        )


def _readable(*entered: str) -> None:
    """Refuse (`LoginRefused`, no wrong PIN counted) a code, PIN or badge holding a NUL or a
    lone surrogate: no keypad or card gives one, and a lone surrogate cannot even be hashed
    or looked up."""
    if not storable(entered):
        raise LoginRefused(LoginRefusal.UNREADABLE)
