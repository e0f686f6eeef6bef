"""When to try a failed push again: full-jitter exponential backoff, `Retry-After` as a floor.

Full jitter (a uniform wait between 0 and the exponential ceiling) keeps a chain's tills from
hammering a recovering CRM in step after an outage (AWS Architecture Blog, "Exponential
Backoff And Jitter"). The wait is stored in the outbox row so it survives a restart.
"""

from __future__ import annotations

import random

__all__ = ["retry_delay"]


def retry_delay(
    attempts: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt `attempts + 1`, `attempts` >= 1 having failed.

    Uniform in [0, min(cap, base * 2**(attempts - 1))], never less than `retry_after`.
    """
    if attempts < 1:
        raise ValueError("attempts counts failed tries and starts at 1")
    ceiling = min(cap, base * 2 ** min(attempts - 1, 62))
    delay = (rng or random).uniform(0, ceiling)
    return max(delay, retry_after or 0.0)
