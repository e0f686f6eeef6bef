"""`Checkpointer`: folds the till database's WAL into the database file from a thread of its own.

By default the connection that commits also checkpoints: every thousand WAL pages, a commit
copies them into the database file and fsyncs both. During a first pull that is the writer's
biggest wait (figures in docs/performance.md). A `Checkpointer` does that copy on its own
connection while the writer stores the next page (SQLite works without the GIL), so the pull
waits for neither.

A PASSIVE checkpoint never blocks the writer, but the WAL only starts again from its beginning
when a write transaction begins after a checkpoint has copied all of it. A writer that keeps
writing while rounds run would grow the WAL to the size of the whole load (gigabytes for a
million customers). So once the WAL file is past `wal_bound` bytes, the writer waits for the
rounds asked for to end (`make_room`), and its transaction then reuses the file from the
start. The writer's connection keeps `journal_size_limit` at the bound meanwhile
(`TillDatabase.checkpoints_aside`), so that transaction also cuts the file back to the bound:
otherwise the file would keep its size and every later write would wait.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["WAL_BOUND_BYTES", "Checkpointer"]

_log = logging.getLogger(__name__)

WAL_BOUND_BYTES = 64 * 1024 * 1024
"""How large the WAL file may grow while checkpoints run aside: some 25 pull pages of 1,000
customers (2.4 MB of WAL each), so the writer waits for a round about once in 25 pages."""


class Checkpointer:
    """A thread that checkpoints the database at `path` each time it is nudged, until closed."""

    def __init__(self, path: Path, *, wal_bound: int = WAL_BOUND_BYTES) -> None:
        self._path = path
        self._bound = wal_bound
        self._wanted = threading.Condition()
        self._nudged = False
        self._busy = False
        self._closing = False
        self._stopped = False
        self._wal = path.with_name(path.name + "-wal")
        # A daemon: a process that ends without closing it must not hang on it; a checkpoint
        # cut short is safe (the WAL keeps every frame until one completes).
        self._thread = threading.Thread(target=self._run, name="tillcrm-checkpointer", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Ask for a checkpoint (after a commit); nudges while one runs make one more round."""
        with self._wanted:
            self._nudged = True
            self._wanted.notify_all()

    def make_room(self) -> bool:
        """Before a write transaction: if the WAL file is past its bound, wait until no round
        is asked for or under way, so the transaction starts the WAL again from its beginning.
        Returns whether it waited. A stopped checkpointer never makes a writer wait."""
        try:
            size = self._wal.stat().st_size
        except FileNotFoundError:
            return False
        if size <= self._bound:
            return False
        with self._wanted:
            if self._stopped:
                return False
            self._wanted.wait_for(lambda: not (self._nudged or self._busy) or self._stopped)
        return True

    def close(self) -> None:
        """Run the round asked for last (the writer nudges after each commit), then stop."""
        with self._wanted:
            self._closing = True
            self._wanted.notify_all()
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                self._rounds(conn)
            finally:
                conn.close()
        except Exception:
            # The writer's own checkpoints resume when the block ends; its next commit meets
            # the same disk and reports it where a cashier sees it.
            _log.exception("the till database's checkpointer stopped")
        finally:
            with self._wanted:
                self._stopped = True
                self._busy = False
                self._wanted.notify_all()

    def _rounds(self, conn: sqlite3.Connection) -> None:
        """A round per nudge until closed; a checkpoint that fails ends them (`_run`)."""
        conn.execute("PRAGMA synchronous=FULL")  # the copy is fsynced before the WAL restarts
        while self._next_round():
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                with self._wanted:
                    self._busy = False
                    self._wanted.notify_all()

    def _next_round(self) -> bool:
        """Wait for a nudge; returns whether to run a round (False: closed, nothing asked)."""
        with self._wanted:
            self._wanted.wait_for(lambda: self._nudged or self._closing)
            if not self._nudged:
                return False
            self._nudged = False
            self._busy = True
            return True
