"""Small facts the till keeps about itself: the CRM's pull cursor, the till's id, and where
the CRM last stopped taking its ops.

The cursor is the CRM's own opaque position in its change feed, stored in the same
transaction as the pull page it came with, so a crash never skips or half-applies a page.
The till's clock is never a cursor.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tillcrm.local.db import TillDatabase

__all__ = ["Meta", "SeqStop"]

_CURSOR = "pull_cursor"
_TILL_ID = "till_id"
_SEQ_STOP = "seq_stop"
_SEQ_STOP_LAST_SEQ = "seq_stop_crm_last_seq"


@dataclass(frozen=True)
class SeqStop:
    """The CRM took none of the till's ops from some seq on (a gap, or seqs it holds for
    other ops: the database was restored from an old copy). Kept in the database, so it
    shows (`tillcrm sync --status` too) until a push gets past it or the ops are renumbered."""

    problem: str
    """What blocks the queue and what to do, as a sentence."""
    crm_last_seq: int
    """The CRM's last seq of this till when it stopped: unsent ops are renumbered after it."""


class Meta:
    """Key-value facts in the `meta` table."""

    def __init__(self, db: TillDatabase) -> None:
        self._db = db

    def cursor(self) -> str | None:
        """The CRM's cursor after the last pulled page; None before the first sync."""
        return self._get(_CURSOR)

    @staticmethod
    def set_cursor(conn: sqlite3.Connection, cursor: str) -> None:
        """Remember the cursor inside the caller's write transaction (with its page)."""
        _put(conn, _CURSOR, cursor)

    def till_id(self) -> str | None:
        """The till id this database belongs to; None until first set."""
        return self._get(_TILL_ID)

    def claim_till_id(self, till_id: str) -> None:
        """Bind the database to `till_id`; a database already bound to another till is refused.

        One outbox's seqs mean something only to the till that made them: pushing them as a
        different till would make the CRM take them for resends.
        """
        with self._db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_TILL_ID,)).fetchone()
            if row is not None and row[0] != till_id:
                raise ValueError(
                    f"this till database belongs to till {row[0]}, not {till_id}; "
                    "give the new till its own data_dir"
                )
            _put(conn, _TILL_ID, till_id)

    def seq_stop(self) -> SeqStop | None:
        """Where the CRM last stopped taking this till's ops; None while it takes them."""
        rows = self._db.read(
            "SELECT (SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?)",
            (_SEQ_STOP, _SEQ_STOP_LAST_SEQ),
        )
        problem, last_seq = rows[0]
        return None if problem is None else SeqStop(str(problem), int(last_seq))

    @staticmethod
    def set_seq_stop(conn: sqlite3.Connection, stop: SeqStop | None) -> None:
        """Remember (or, None, forget) where the CRM stopped, inside the caller's transaction."""
        if stop is None:
            conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (_SEQ_STOP, _SEQ_STOP_LAST_SEQ))
            return
        _put(conn, _SEQ_STOP, stop.problem)
        _put(conn, _SEQ_STOP_LAST_SEQ, str(stop.crm_last_seq))

    def _get(self, key: str) -> str | None:
        rows = self._db.read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None


def _put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
