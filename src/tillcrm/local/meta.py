"""Small facts the till keeps about itself: the CRM's pull cursor and the till's id.

The cursor is the CRM's own opaque position in its change feed, stored in the same
transaction as the pull page it came with, so a crash never skips or half-applies a page.
The till's clock is never a cursor.
"""

from __future__ import annotations

import sqlite3

from tillcrm.local.db import TillDatabase

__all__ = ["Meta"]

_CURSOR = "pull_cursor"
_TILL_ID = "till_id"


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

    def _get(self, key: str) -> str | None:
        rows = self._db.read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None


def _put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
