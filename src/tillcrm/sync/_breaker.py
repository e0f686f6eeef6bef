"""A circuit breaker: after repeated failures stop pushing and only probe `/v1/health`.

A till whose CRM is down should not send a batch every few seconds; it should ask cheaply
whether the CRM is back, and resume at once when it is. Probes back off from `first_probe`
seconds to `probe_interval`, so a short blip is noticed in about a second and a long outage
costs one cheap probe per `probe_interval`; a `Retry-After` the CRM sent is a floor.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CircuitBreaker"]


@dataclass
class CircuitBreaker:
    """Closed while calls succeed; open after `threshold` failures in a row.

    While open, no real call is made until the probe wait has passed since the last failure:
    `first_probe` seconds after the failure that opened it, doubling with each failed probe
    up to `probe_interval` (a flat `probe_interval` when `first_probe` is None), and never
    before the last failure's `Retry-After`. Then one probe may go, and its outcome closes or
    re-opens the breaker. Times are from a monotonic clock: a clock step neither hurries
    nor strands a probe.
    """

    threshold: int = 3
    probe_interval: float = 10.0
    first_probe: float | None = None
    failures: int = 0
    last_failure_at: float | None = None
    not_before: float | None = None
    """The last failure's `Retry-After`, as a time: no probe before it."""

    @property
    def is_open(self) -> bool:
        """Too many failures in a row: the CRM is treated as offline."""
        return self.failures >= self.threshold

    def next_probe_at(self) -> float | None:
        """When an open breaker may probe next; None while it is closed."""
        if not self.is_open or self.last_failure_at is None:
            return None
        wait = self.probe_interval
        if self.first_probe is not None:
            doublings = min(self.failures - self.threshold, 62)
            wait = min(wait, self.first_probe * 2**doublings)
        return max(self.last_failure_at + wait, self.not_before or 0.0)

    def probe_due(self, now: float) -> bool:
        """Whether an open breaker should probe the CRM's health now."""
        probe_at = self.next_probe_at()
        return probe_at is not None and now >= probe_at

    def record_failure(self, now: float, retry_after: float | None = None) -> None:
        """A call or probe failed; `retry_after` is how long the CRM asked the till to wait."""
        self.failures += 1
        self.last_failure_at = now
        self.not_before = now + retry_after if retry_after else None

    def record_success(self) -> None:
        """A call or probe succeeded: close."""
        self.failures = 0
        self.last_failure_at = None
        self.not_before = None
