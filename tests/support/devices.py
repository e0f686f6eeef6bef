"""Helpers for the device tests: an event collector that waits for events from reader threads,
and readers started on simulated ports with a quick reconnect backoff."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tillcrm.config import DeviceSettings
from tillcrm.devices.events import DeviceEvent, DeviceStatus, LinkState
from tillcrm.devices.manager import DeviceManager
from tillcrm.devices.reader import Backoff

QUICK = Backoff(first=0.01, factor=2.0, cap=0.05)
"""Reconnect backoff short enough for a test to see a replug at once."""

WAIT = 5.0
"""Upper bound for an event to arrive; events normally arrive within milliseconds."""


class EventLog:
    """The one callback of a `DeviceManager`: keeps every event and lets a test wait for one."""

    def __init__(self) -> None:
        self._queue: queue.Queue[DeviceEvent] = queue.Queue()
        self.seen: list[DeviceEvent] = []

    def __call__(self, event: DeviceEvent) -> None:
        self._queue.put(event)

    def wait_for(self, match: Callable[[DeviceEvent], bool]) -> DeviceEvent:
        """The next event that `match`es; the events before it are kept in `seen`."""
        while True:
            try:
                event = self._queue.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no matching event; seen {self.seen}") from None
            self.seen.append(event)
            if match(event):
                return event

    def next_read(self) -> DeviceEvent:
        """The next event that is not a status change."""
        return self.wait_for(lambda event: not isinstance(event, DeviceStatus))

    def status(self, state: LinkState) -> DeviceStatus:
        """The next status change to `state`."""
        event = self.wait_for(lambda e: isinstance(e, DeviceStatus) and e.state is state)
        assert isinstance(event, DeviceStatus)
        return event


@contextmanager
def reading(events: EventLog, *devices: DeviceSettings) -> Iterator[DeviceManager]:
    """A device manager reading `devices`, once every port is open."""
    with DeviceManager(devices, events, backoff=QUICK) as manager:
        for _ in devices:
            events.status(LinkState.CONNECTED)
        yield manager
