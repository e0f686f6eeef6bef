"""Fixtures for the device tests: an event log to wait on, and simulated readers closed after
the test (`tests.support.devices` holds the helpers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.devices import EventLog
from tillcrm.devices.simulator import SimulatedReader


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
def simulator() -> Iterator[Callable[..., SimulatedReader]]:
    """Opens simulated readers (`SimulatedReader.open` arguments) and closes them after the test."""
    opened: list[SimulatedReader] = []

    def open_reader(*args: Any, **kwargs: Any) -> SimulatedReader:
        sim = SimulatedReader.open(*args, **kwargs)
        opened.append(sim)
        return sim

    yield open_reader
    for sim in opened:
        sim.close()
