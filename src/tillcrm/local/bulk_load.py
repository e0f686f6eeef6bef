"""A first full pull into an empty cache, stored without index upkeep on every row.

Keeping the cache's secondary B-tree indexes and its trigram search index up to date row by
row cost more than storing the rows themselves; building them once from the finished table is
cheaper. So the first pull `begin`s a bulk load: the secondary indexes are dropped (their
`CREATE INDEX` statements kept in `meta`, in the same transaction) and pages are stored
without search rows (`in_progress`), neither added nor taken out; `finish` builds the indexes,
rebuilds the search index from the customers, and clears the mark, in one transaction.

Crash safety rests on the mark in `meta`: while it is there the cache may answer lookups
slowly and text search incompletely, never wrongly once finished. A process that dies mid-load
leaves the mark, and the next `open_database` finishes the load before anyone searches. This
module knows only SQLite: `open_database` calls it, so it must not import the rest of `local`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["begin", "finish", "in_progress"]

_MARK = "bulk_load_indexes"
"""The `meta` key of a bulk load in progress; its value is the dropped indexes' statements."""

_INDEXED_TABLES = ("customers", "identifiers")
"""The tables whose secondary indexes a bulk load drops (their keys stay: upserts need them)."""

_SEARCH_BUFFER_BYTES = 16 * 1024 * 1024
"""The trigram index's buffer of pending terms while `finish` makes every search row: with
FTS5's default (1 MB) it writes a segment every few thousand customers and merges them again
and again (figures in docs/performance.md)."""
_DEFAULT_SEARCH_BUFFER_BYTES = 1024 * 1024
"""FTS5's own default, put back for the small writes of every other transaction."""

_MAPPED_BYTES = 1 << 40
"""How much of the database file `finish` reads memory-mapped; SQLite caps it at its own
maximum (2 GB unless built otherwise)."""


def in_progress(conn: sqlite3.Connection) -> bool:
    """Whether a bulk load is under way: pages are then stored without search rows."""
    return conn.execute("SELECT 1 FROM meta WHERE key = ?", (_MARK,)).fetchone() is not None


def begin(conn: sqlite3.Connection) -> bool:
    """Start a bulk load inside the caller's write transaction if the cache is empty (a first
    pull); returns whether one is under way now."""
    if in_progress(conn):
        return True
    if conn.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()[0]:
        return False
    marks = ", ".join("?" for _ in _INDEXED_TABLES)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
        f"AND tbl_name IN ({marks}) ORDER BY name",
        _INDEXED_TABLES,
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        (_MARK, json.dumps([sql for _, sql in indexes])),
    )
    return True


def finish(conn: sqlite3.Connection) -> None:
    """Build the dropped indexes and every search row inside the caller's write transaction,
    and clear the mark; nothing to do when no bulk load is under way."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_MARK,)).fetchone()
    if row is None:
        return
    with _mapped(conn):
        for statement in json.loads(row[0]):
            conn.execute(statement)
        # Every customer's search row, from the text the index reads from the customers
        # (`customer_text_source`): those stored beside the load (an offline edit) included.
        _set_search_buffer(conn, _SEARCH_BUFFER_BYTES)
        conn.execute("INSERT INTO customer_text (customer_text) VALUES ('rebuild')")
        _set_search_buffer(conn, _DEFAULT_SEARCH_BUFFER_BYTES)
    conn.execute("DELETE FROM meta WHERE key = ?", (_MARK,))


@contextmanager
def _mapped(conn: sqlite3.Connection) -> Iterator[None]:
    """Read the database file memory-mapped inside the block: each index built, and the
    search rows, read the whole customers table once more, and copying its pages through
    SQLite's page cache made the index builds about a third slower (docs/performance.md).
    The connection's own setting is put back after, so the mapping (and the RSS it counts)
    ends with the load."""
    (before,) = conn.execute("PRAGMA mmap_size").fetchone()
    conn.execute(f"PRAGMA mmap_size = {_MAPPED_BYTES}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA mmap_size = {int(before)}")


def _set_search_buffer(conn: sqlite3.Connection, size: int) -> None:
    """Set the trigram index's pending-terms buffer (FTS5's `hashsize`), for this transaction
    and those after it."""
    conn.execute("INSERT INTO customer_text (customer_text, rank) VALUES ('hashsize', ?)", (size,))
