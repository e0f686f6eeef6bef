"""Who works this till now: operator login and logout, offline through cached PIN hashes.

The PIN and badge checks, the wrong-PIN count and the lockout live in `OperatorStore` (in the
database, so a restart does not reset a lockout); this keeps only who is logged in, and
writes each login and logout to the till's audit log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tillcrm.domain import Operator
from tillcrm.local import AuditLog, AuditRecord, LoginRefused, OperatorStore, TillDatabase

__all__ = ["NotLoggedIn", "Session"]

_log = logging.getLogger(__name__)


class NotLoggedIn(Exception):
    """An action needs an operator and nobody is logged in."""

    def __init__(self) -> None:
        super().__init__("log in first")


class Session:
    """The operator logged in at this till, if any."""

    def __init__(
        self, db: TillDatabase, operators: OperatorStore, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._operators = operators
        self._clock = clock
        self._current: Operator | None = None

    @property
    def current(self) -> Operator | None:
        """The logged-in operator."""
        return self._current

    def require(self) -> Operator:
        """The logged-in operator, or `NotLoggedIn`."""
        if self._current is None:
            raise NotLoggedIn
        return self._current

    def login(self, code: str, pin: str) -> Operator:
        """Log in with operator code and PIN; raises `LoginRefused` (wrong PIN, locked, ...)."""
        return self._start(lambda: self._operators.check_pin(code, pin, self._clock()), "code")

    def login_badge(self, badge: str) -> Operator:
        """Log in with a badge swipe; raises `LoginRefused`."""
        return self._start(lambda: self._operators.check_badge(badge), "badge")

    def logout(self) -> None:
        """End the shift of the logged-in operator (nothing happens when nobody is)."""
        if self._current is not None:
            _log.info("operator %s logged out", self._current.id)
            self._audit(self._current, "logout", "")
        self._current = None

    def _start(self, check: Callable[[], Operator], how: str) -> Operator:
        """Log in the operator `check` accepts. A refusal is logged with its reason only: what
        was typed may be a PIN in the wrong field, so neither the code nor a badge is."""
        try:
            operator = check()
        except LoginRefused as refused:
            _log.info("login by %s refused: %s", how, refused)
            raise
        _log.info("operator %s logged in by %s", operator.id, how)
        if self._current is not None and self._current.id != operator.id:
            self._audit(self._current, "logout", f"replaced by {operator.id}")
        self._current = operator
        self._audit(operator, "login", how)
        return operator

    def _audit(self, operator: Operator, action: str, detail: str) -> None:
        record = AuditRecord(
            at=datetime.fromtimestamp(self._clock(), UTC),
            action=action,
            operator_id=operator.id,
            detail=detail,
        )
        with self._db.write() as conn:
            AuditLog.append(conn, record)
