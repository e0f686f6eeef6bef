"""Retry timing: full-jitter exponential backoff with a cap and a Retry-After floor, and the
circuit breaker that turns repeated failures into cheap health probes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tillcrm.sync import CircuitBreaker, retry_delay


@given(attempts=st.integers(1, 500), seed=st.integers(0, 2**32))
def test_a_delay_stays_under_the_exponential_ceiling_and_the_cap(attempts: int, seed: int) -> None:
    delay = retry_delay(attempts, base=1.0, cap=300.0, rng=random.Random(seed))
    assert 0 <= delay <= min(300.0, 2.0 ** (attempts - 1))


def test_delays_are_jittered_not_in_step() -> None:
    rng = random.Random(7)
    delays = {retry_delay(6, base=1.0, cap=300.0, rng=rng) for _ in range(50)}
    assert len(delays) == 50
    assert max(delays) > 16 > min(delays)


def test_retry_after_is_a_floor() -> None:
    assert retry_delay(1, base=1.0, cap=300.0, retry_after=30.0) == 30.0


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        retry_delay(0, base=1.0, cap=300.0)


def test_the_breaker_opens_after_repeated_failures_and_probes_when_due() -> None:
    breaker = CircuitBreaker(threshold=3, probe_interval=10.0)
    for now in (0.0, 1.0):
        breaker.record_failure(now)
        assert not breaker.is_open
    breaker.record_failure(2.0)
    assert breaker.is_open
    assert not breaker.probe_due(11.0)
    assert breaker.probe_due(12.0)
    breaker.record_failure(12.0)
    assert not breaker.probe_due(21.0)
    breaker.record_success()
    assert not breaker.is_open
    assert not breaker.probe_due(100.0)


def test_probes_back_off_from_the_first_wait_to_the_cap_with_retry_after_as_a_floor() -> None:
    breaker = CircuitBreaker(threshold=1, probe_interval=4.0, first_probe=1.0)
    breaker.record_failure(0.0)
    assert breaker.next_probe_at() == 1.0
    breaker.record_failure(1.0)
    assert breaker.next_probe_at() == 3.0
    breaker.record_failure(3.0)
    assert breaker.next_probe_at() == 7.0  # capped at 4 s, not 8
    breaker.record_failure(7.0, retry_after=30.0)
    assert breaker.next_probe_at() == 37.0
    assert not breaker.probe_due(36.9)
    assert breaker.probe_due(37.0)
