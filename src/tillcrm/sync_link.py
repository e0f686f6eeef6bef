"""The sync engine as the till's app runs it: a worker in the app's loop, its callbacks
turned into messages, and the queue depth re-read every second.

The engine knows nothing of Textual; the app only takes the messages into its state (the
status bars watch it). Kept apart from the app so its module is about screens, not plumbing.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from textual.app import App

    from tillcrm.sync import PullProgress, SyncEngine, SyncStatus

__all__ = ["PullProgressMessage", "SyncLink", "SyncStatusMessage"]

_STATUS_REFRESH_SECONDS = 1.0
"""How often the queue depth is re-read, so an op saved between sync rounds shows at once."""


class SyncStatusMessage(Message):
    """The sync engine published a new status."""

    def __init__(self, status: SyncStatus) -> None:
        super().__init__()
        self.status = status


class PullProgressMessage(Message):
    """The sync engine stored another page of a full pull (or ended it)."""

    def __init__(self, progress: PullProgress) -> None:
        super().__init__()
        self.progress = progress


class SyncLink:
    """Runs one sync engine for `app` and posts what it reports to it."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._stop = asyncio.Event()

    def deliver_status(self, status: SyncStatus) -> None:
        """The sync engine's status callback."""
        self._app.post_message(SyncStatusMessage(status))

    def deliver_pull_progress(self, progress: PullProgress) -> None:
        """The sync engine's full-pull progress callback."""
        self._app.post_message(PullProgressMessage(progress))

    def start(self, engine: SyncEngine) -> None:
        """Run `engine` in a worker, and re-read its status every second."""
        self._app.run_worker(self._run(engine), name="sync")
        self._app.set_interval(
            _STATUS_REFRESH_SECONDS, partial(self._reread, engine), name="status"
        )

    def stop(self) -> None:
        """End the worker's rounds (the app is closing)."""
        self._stop.set()

    async def _run(self, engine: SyncEngine) -> None:
        """A round at once (push, then pull: ops saved before the restart reach the CRM before
        its view of those customers comes back), then round after round until the app ends."""
        await engine.sync_once()
        await engine.run(self._stop)

    def _reread(self, engine: SyncEngine) -> None:
        self.deliver_status(engine.status())
