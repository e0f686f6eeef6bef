"""`Checkpointer`: folds the till database's WAL into the database file from a thread of its own.

By default the connection that commits also checkpoints: every thousand WAL pages, a commit
copies them into the database file and fsyncs both. During a first pull that is the writer's
biggest wait: the pages of 52,000 customers wrote 126 MB of WAL, and copying it back cost the
storing thread 0.65 s, a quarter of the whole pull. A `Checkpointer` does that copy on its own
connection while the writer stores the next page (SQLite works without the GIL), so the pull
waits for neither.

A PASSIVE checkpoint never blocks the writer, but the WAL can only start again from its
beginning when a write transaction begins after a checkpoint has copied all of it. A writer
that keeps writing would grow the WAL to the size of the whole load (gigabytes for a million
customers), so once it passes `wal_bound` the writer waits for the round under way to end
(`make_room`) and its next transaction reuses the file.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["Checkpointer"]

_log = logging.getLogger(__name__)

WAL_BOUND_BYTES = 64 * 1024 * 1024
"""How large the WAL may grow while checkpoints run aside: some forty pull pages of 1,000
customers, so the writer waits for a round about once in forty pages."""


class Checkpointer:
    """A thread that checkpoints the database at `path` each time it is nudged, until closed."""

    def __init__(self, path: Path, *, wal_bound: int = WAL_BOUND_BYTES) -> None:
        self._path = path
        self._wal = path.with_name(path.name + "-wal")
        self._bound = wal_bound
        self._wanted = threading.Condition()
        self._nudged = False
        self._busy = False
        self._closing = False
        # A daemon: a process that ends without closing it must not hang on it; a checkpoint
        # cut short is safe (the WAL keeps every frame until one completes).
        self._thread = threading.Thread(target=self._run, name="tillcrm-checkpointer", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Ask for a checkpoint (after a commit); nudges while one runs make one more round."""
        with self._wanted:
            self._nudged = True
            self._wanted.notify_all()

    def make_room(self) -> None:
        """Before a write transaction: if the WAL has passed its bound, wait until no round is
        asked for or under way, so the transaction starts the WAL again from its beginning."""
        try:
            size = self._wal.stat().st_size
        except FileNotFoundError:
            return
        if size <= self._bound:
            return
        with self._wanted:
            self._wanted.wait_for(lambda: not (self._nudged or self._busy) or self._closing)

    def close(self) -> None:
        """Run the round asked for last (the writer nudges after each commit), then stop."""
        with self._wanted:
            self._closing = True
            self._wanted.notify_all()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous=FULL")  # the copy is fsynced before the WAL restarts
            while self._next_round():
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    # The writer's own checkpoints resume after the block; its next commit
                    # meets the same disk and reports it where a cashier sees it.
                    _log.exception("checkpointing the till database aside failed")
                finally:
                    with self._wanted:
                        self._busy = False
                        self._wanted.notify_all()
        finally:
            conn.close()

    def _next_round(self) -> bool:
        """Wait for a nudge; returns whether to run a round (False: closed, nothing asked)."""
        with self._wanted:
            self._wanted.wait_for(lambda: self._nudged or self._closing)
            if not self._nudged:
                return False
            self._nudged = False
            self._busy = True
            return True
