"""The few ways a CRM call can fail, as the till needs to tell them apart.

The sync engine retries `CrmUnavailable` (network errors, 5xx, 429) and `CrmConflict`, stops
on `CrmUnauthorized`, and dead-letters `CrmRejected`; the UI says "not found" for
`CrmNotFound`. Nothing else escapes the client.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CrmConflict",
    "CrmError",
    "CrmGone",
    "CrmLocked",
    "CrmNotFound",
    "CrmRejected",
    "CrmUnauthorized",
    "CrmUnavailable",
]


class CrmError(Exception):
    """A CRM call did not succeed; `str()` is a sentence a cashier or installer can act on."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class CrmUnavailable(CrmError):
    """The CRM could not be reached or answered 5xx/429: try again later.

    `retry_after` is the server's `Retry-After` in seconds, a floor for the next attempt.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code="unavailable", status=status)
        self.retry_after = retry_after


class CrmUnauthorized(CrmError):
    """The till's token is missing, wrong or revoked: the till must be registered again."""


class CrmNotFound(CrmError):
    """No such object in this till's scope (the CRM never says whether it exists elsewhere)."""


class CrmGone(CrmError):
    """The identifier exists but is blocked (a lost or replaced card)."""


class CrmConflict(CrmError):
    """The object changed since the till read it; `current` is the CRM's version."""

    def __init__(self, message: str, *, code: str, current: dict[str, Any] | None) -> None:
        super().__init__(message, code=code, status=409)
        self.current = current


class CrmRejected(CrmError):
    """The CRM refused the request as invalid (4xx): sending it again will not help."""

    def __init__(self, message: str, *, code: str, status: int, fields: list[str]) -> None:
        super().__init__(message, code=code, status=status)
        self.fields = fields


class CrmLocked(CrmError):
    """The operator is locked after too many wrong PINs, or the till after too many wrong
    checks (`code` `till_throttled`): 429 of `/operators/verify`; try again in
    `retry_after` seconds. Not `CrmUnavailable`: the CRM did answer."""

    def __init__(self, message: str, *, code: str, retry_after: float) -> None:
        super().__init__(message, code=code, status=429)
        self.retry_after = retry_after
