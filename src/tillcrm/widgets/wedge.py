"""Keyboard-wedge scanners in Textual: scanner keystrokes never reach the focused widget.

A wedge scanner types its code as keys a few milliseconds apart and presses Enter. The app hands
every key event to `WedgeKeys` before Textual routes it; `devices.wedge.WedgeDetector` decides
from the events' own timestamps (taken when the terminal's bytes were read) whether the held keys
were a scan or typing. Typing is replayed, in order, to Textual's ordinary key routing; a scan
is posted to the app as one `WedgeScanned` message, so the focused input never sees it.
Printable keys are held back at most `max_gap` (30 ms) while that is undecided.

A PIN typed quickly into a password field can be as fast as a scanner: there a burst counts as
a scan only when it is framed like a badge's track (`%...?`), so a fast cashier still logs in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

from tillcrm.devices.wedge import Scanned, WedgeDetector, WedgeOutput, is_track_frame

__all__ = ["WedgeKeys", "WedgeScanned"]


class WedgeScanned(Message):
    """A keyboard-wedge scanner typed `code` (without its Enter)."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


Replay = Callable[[events.Key], Awaitable[None]]
"""Routes a key event the way Textual would have without the wedge filter."""


class WedgeKeys:
    """The app's key filter: feeds each key to the detector and replays what was typing.

    `replay` is the app's ordinary key routing; `WedgeScanned` is posted to `app`.
    """

    def __init__(self, app: App[Any], replay: Replay, detector: WedgeDetector) -> None:
        self._app = app
        self._replay = replay
        self._detector = detector
        self._held: list[events.Key] = []
        self._timer: Timer | None = None
        self._generation = 0
        """Counts keys, so a flush queued before the newest key arrived does nothing."""

    async def key(self, event: events.Key) -> None:
        """Take one key event: hold it, replay it, or complete a scan with it."""
        self._cancel_timer()
        self._generation += 1
        name = _detector_key(event, self._detector.enter)
        self._held.append(event)
        await self._apply(self._detector.feed(name, event.time))
        if self._detector.pending:
            generation = self._generation
            self._timer = self._app.set_timer(
                self._detector.max_gap, lambda: self._flush(generation), name="wedge"
            )

    async def _flush(self, generation: int) -> None:
        """No key came for longer than a scan's gap: the held keys were typed."""
        if generation != self._generation:
            return
        self._timer = None
        newest = self._held[-1].time if self._held else 0.0
        await self._apply(self._detector.flush(newest + self._detector.max_gap * 2))

    async def _apply(self, outputs: list[WedgeOutput]) -> None:
        for output in outputs:
            if isinstance(output, Scanned) and self._is_scan(output.code):
                # The scan's keys and its Enter are the oldest held events.
                del self._held[: len(output.code) + 1]
                self._app.post_message(WedgeScanned(output.code))
                continue
            count = len(output.code) + 1 if isinstance(output, Scanned) else len(output.keys)
            typed, self._held = self._held[:count], self._held[count:]
            for event in typed:
                await self._replay(event)

    def _is_scan(self, code: str) -> bool:
        """A fast burst is a scan, except in a password field unless framed like a badge."""
        focused = self._app.focused
        return not (isinstance(focused, Input) and focused.password) or is_track_frame(code)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None


def _detector_key(event: events.Key, enter: str) -> str:
    """The detector's name for a key: the character it types, or a key name such as "enter"."""
    if event.key == "enter":
        return enter
    character = event.character
    if event.is_printable and character is not None and len(character) == 1:
        return character
    return event.key
