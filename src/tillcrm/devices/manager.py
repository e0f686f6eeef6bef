"""All of a till's readers behind one callback.

The manager builds one `SerialReader` per `[[devices]]` table and hands every event of every reader
to a single callback. Readers call it from their own threads, one event at a time: the callback
never runs twice at once, and one that raises is logged without stopping the reader. The TUI wraps
the callback with Textual's thread-safe `post_message`; the `devices test` command with a queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from types import TracebackType

from tillcrm.config import DeviceSettings, Settings
from tillcrm.devices.events import DeviceEvent, EventCallback
from tillcrm.devices.reader import DEFAULT_BACKOFF, Backoff, SerialReader

__all__ = ["DeviceManager"]

log = logging.getLogger(__name__)


class DeviceManager:
    """Starts, stops and listens to a till's readers; started and stopped once."""

    def __init__(
        self,
        devices: Iterable[DeviceSettings],
        on_event: EventCallback,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        devices = list(devices)
        names = [device.name for device in devices]
        if doubles := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"device names must be unique: {', '.join(doubles)}")
        self._on_event = on_event
        self._lock = threading.Lock()
        self.readers = [SerialReader(device, self._deliver, backoff=backoff) for device in devices]

    @classmethod
    def from_settings(cls, settings: Settings, on_event: EventCallback) -> DeviceManager:
        """The readers of the till's config."""
        return cls(settings.devices, on_event)

    def start(self) -> None:
        """Open every reader's port in the background; events follow through the callback."""
        for reader in self.readers:
            reader.start()

    def stop(self) -> None:
        """Close every port and wait for the readers' threads to end."""
        for reader in self.readers:
            reader.stop()

    def __enter__(self) -> DeviceManager:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _deliver(self, event: DeviceEvent) -> None:
        with self._lock:
            try:
                self._on_event(event)
            except Exception:
                log.exception("the device event callback failed on a %s", type(event).__name__)
