"""A circuit breaker: after repeated failures stop pushing and only probe `/v1/health`.

A till whose CRM is down should not send a batch every few seconds; it should ask cheaply
whether the CRM is back, and resume at once when it is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CircuitBreaker"]


@dataclass
class CircuitBreaker:
    """Closed while calls succeed; open after `threshold` failures in a row.

    While open, no real call is made until `probe_interval` seconds have passed since the
    last failure: then one probe may go, and its outcome closes or re-opens the breaker.
    """

    threshold: int = 3
    probe_interval: float = 10.0
    failures: int = 0
    last_failure_at: float | None = None

    @property
    def is_open(self) -> bool:
        """Too many failures in a row: the CRM is treated as offline."""
        return self.failures >= self.threshold

    def probe_due(self, now: float) -> bool:
        """Whether an open breaker should probe the CRM's health now."""
        if not self.is_open or self.last_failure_at is None:
            return False
        return now - self.last_failure_at >= self.probe_interval

    def record_failure(self, now: float) -> None:
        """A call or probe failed."""
        self.failures += 1
        self.last_failure_at = now

    def record_success(self) -> None:
        """A call or probe succeeded: close."""
        self.failures = 0
        self.last_failure_at = None
