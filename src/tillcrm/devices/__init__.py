"""Serial card and barcode readers: framing parsers, reader threads, simulators.

Devices only report `Identified`, `Rejected` and `DeviceStatus` events to one callback; they never
touch the UI. The TUI starts a `DeviceManager` with a callback that posts a Textual message; the
demo drives `SimulatedReader`s; the keyboard-wedge `WedgeDetector` is fed by the TUI's key events.
"""

from tillcrm.devices.errors import ParseError, PortError, PortInUseError, RejectReason
from tillcrm.devices.events import (
    DeviceEvent,
    DeviceStatus,
    EventCallback,
    Identified,
    LinkState,
    Rejected,
    event_json,
)
from tillcrm.devices.manager import DeviceManager
from tillcrm.devices.simulator import SimulatedReader, SimulatorError
from tillcrm.devices.wedge import Scanned, Typed, WedgeDetector, WedgeOutput

__all__ = [
    "DeviceEvent",
    "DeviceManager",
    "DeviceStatus",
    "EventCallback",
    "Identified",
    "LinkState",
    "ParseError",
    "PortError",
    "PortInUseError",
    "RejectReason",
    "Rejected",
    "Scanned",
    "SimulatedReader",
    "SimulatorError",
    "Typed",
    "WedgeDetector",
    "WedgeOutput",
    "event_json",
]
