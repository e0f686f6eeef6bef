"""Opening the till's database: durability settings, schema migrations, write transactions.

The connection runs in autocommit mode (`isolation_level=None`) and every write is an explicit
`BEGIN IMMEDIATE ... COMMIT`, so the write lock is taken up front (no deadlock upgrading a read
lock) and a commit is a real fsync (`synchronous=FULL`): once `write()` returns, a power cut
cannot lose the op. Only what the till can fetch again (a pull page) is written without waiting
for the disk (`write(durable=False)`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tillcrm.local import bulk_load
from tillcrm.local.checkpointer import WAL_BOUND_BYTES, Checkpointer

__all__ = ["SCHEMA_VERSION", "Params", "TillDatabase", "open_database"]

Params = tuple[object, ...] | dict[str, object]

_MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        customer_number TEXT NOT NULL,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        company TEXT NOT NULL,
        email TEXT,
        mobile TEXT,
        mobile_rev TEXT,
        phone TEXT,
        active INTEGER NOT NULL,
        points INTEGER NOT NULL,
        version INTEGER NOT NULL,
        record TEXT NOT NULL,
        synced_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX customers_mobile ON customers (mobile);
    CREATE INDEX customers_mobile_rev ON customers (mobile_rev);
    CREATE INDEX customers_phone ON customers (phone);
    CREATE INDEX customers_number ON customers (customer_number);

    CREATE TABLE customer_search (
        rowid INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL UNIQUE
    );
    CREATE VIRTUAL TABLE customer_text USING fts5(
        name, email, company, number, tokenize = 'trigram'
    );

    CREATE TABLE identifiers (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (kind, value)
    ) WITHOUT ROWID;
    CREATE INDEX identifiers_customer ON identifiers (customer_id);

    CREATE TABLE accounts (
        customer_id TEXT NOT NULL,
        account TEXT NOT NULL,
        balance INTEGER NOT NULL,
        read_at TEXT NOT NULL,
        PRIMARY KEY (customer_id, account)
    ) WITHOUT ROWID;

    CREATE TABLE history (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX history_customer ON history (customer_id, at);

    CREATE TABLE operators (
        id TEXT PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until REAL
    );

    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        op_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        base_version INTEGER,
        payload TEXT NOT NULL,
        local_ts TEXT NOT NULL,
        operator_id TEXT NOT NULL,
        override TEXT,
        offline INTEGER NOT NULL,
        debit INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        result TEXT,
        acked_at TEXT
    );
    CREATE INDEX outbox_state ON outbox (state, seq);

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        operator_id TEXT,
        approver_id TEXT,
        action TEXT NOT NULL,
        customer_id TEXT,
        op_id TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
    # 2: customers becomes a rowid table (a WITHOUT ROWID table stores each row, the JSON
    # record, on a page of its own, at over four times its size: docs/performance.md) whose
    # rowid is the trigram index's rowid, so the customer_search mapping (one more
    # randomly-keyed index to write on every pull page) goes; and case-insensitive name
    # indexes, for the LIKE-prefix search of one- and two-letter queries (too short for the
    # trigram index).
    """
    CREATE TABLE customers_v2 (
        id TEXT PRIMARY KEY,
        customer_number TEXT NOT NULL,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        company TEXT NOT NULL,
        email TEXT,
        mobile TEXT,
        mobile_rev TEXT,
        phone TEXT,
        active INTEGER NOT NULL,
        points INTEGER NOT NULL,
        version INTEGER NOT NULL,
        record TEXT NOT NULL,
        synced_at TEXT NOT NULL
    );
    INSERT INTO customers_v2 SELECT * FROM customers;
    DROP TABLE customers;
    ALTER TABLE customers_v2 RENAME TO customers;
    CREATE INDEX customers_mobile ON customers (mobile);
    CREATE INDEX customers_mobile_rev ON customers (mobile_rev);
    CREATE INDEX customers_phone ON customers (phone);
    CREATE INDEX customers_number ON customers (customer_number);
    CREATE INDEX customers_first_name ON customers (first_name COLLATE NOCASE);
    CREATE INDEX customers_last_name ON customers (last_name COLLATE NOCASE);
    DROP TABLE customer_search;
    DELETE FROM customer_text;
    INSERT INTO customer_text (rowid, name, email, company, number)
        SELECT rowid, trim(first_name || ' ' || last_name), coalesce(email, ''), company,
            customer_number
        FROM customers;
    """,
    # 3: points taken offline are counted apart from money (their own per-till cap): a
    # redemption's points move to the new column; a sale's mixed tenders stay where they are.
    """
    ALTER TABLE outbox ADD COLUMN debit_points INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET debit_points = debit, debit = 0 WHERE type = 'points_redeem';
    """,
    # 4: a badge swipe finds its operator by a keyed hash (HMAC-SHA256 under this till's own
    # key), learned on the operator's first swipe, instead of one scrypt per operator.
    """
    ALTER TABLE operators ADD COLUMN badge_lookup TEXT;
    CREATE INDEX operators_badge_lookup ON operators (badge_lookup);
    """,
    # 5: the trigram index reads its text from the customers themselves (an external-content
    # table over a view) and keeps no column sizes (nothing ranks): it no longer stores a
    # second copy of every name, email, company and number, and the index builds faster
    # (docs/performance.md). Its text is now defined once, by the view.
    """
    DROP TABLE customer_text;
    CREATE VIEW customer_text_source (id, customer_rowid, name, email, company, number) AS
        SELECT id, rowid, trim(first_name || ' ' || last_name), coalesce(email, ''), company,
            customer_number
        FROM customers;
    CREATE VIRTUAL TABLE customer_text USING fts5(
        name, email, company, number, tokenize = 'trigram',
        content = 'customer_text_source', content_rowid = 'customer_rowid', columnsize = 0
    );
    INSERT INTO customer_text (customer_text) VALUES ('rebuild');
    """,
]
"""Schema migrations by `user_version`: entry i brings version i to i + 1. Append, never edit."""

SCHEMA_VERSION = len(_MIGRATIONS)


class TillDatabase:
    """The till's SQLite connection, shared by the UI's workers and the sync engine.

    One connection keeps the page cache warm for the scan path; a lock serializes its use
    across threads (sqlite3 connections must not be used by two threads at once).
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._lock = threading.RLock()
        self._checkpointer: Checkpointer | None = None

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed when the block ends.

        Durable (the default, and every op a cashier saves): fsynced before the block ends,
        so a power cut cannot lose it. Not durable: for what the till can fetch again (a pull
        page with its cursor), committed without waiting for the disk (`synchronous=NORMAL`).
        A power cut may then take back the last such transactions, whole, in order, never
        one committed before a durable one: the WAL is written in order and each durable
        commit fsyncs all of it.
        """
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.make_room()
            with _synchronous(self.connection, durable), _immediate(self.connection) as conn:
                yield conn
            if self._checkpointer is not None:
                self._checkpointer.nudge()

    @contextmanager
    def checkpoints_aside(self, *, wal_bound: int = WAL_BOUND_BYTES) -> Iterator[None]:
        """Inside the block, the WAL is folded into the database by a thread of its own
        (`Checkpointer`) after each commit, not by the committing one: for a first pull,
        whose writer would otherwise stop every few pages to copy the pages before into the
        database file. When the block ends, the last round runs and each commit checkpoints
        again. The WAL file stays near `wal_bound` bytes (`Checkpointer.make_room`)."""
        with self._lock:
            if self._checkpointer is not None:
                raise RuntimeError("checkpoints are already running aside")
            (before,) = self.connection.execute("PRAGMA wal_autocheckpoint").fetchone()
            (limit,) = self.connection.execute("PRAGMA journal_size_limit").fetchone()
            checkpointer = Checkpointer(self.path, wal_bound=wal_bound)
            self._checkpointer = checkpointer
            self.connection.execute("PRAGMA wal_autocheckpoint = 0")
            self.connection.execute(f"PRAGMA journal_size_limit = {int(wal_bound)}")
        try:
            yield
        finally:
            with self._lock:
                self.connection.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")
                self.connection.execute(f"PRAGMA journal_size_limit = {int(limit)}")
                self._checkpointer = None
            checkpointer.close()

    def read(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """All rows of one query."""
        with self._lock:
            return self.connection.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (a checkpoint folds the WAL back into the database)."""
        with self._lock:
            self.connection.close()


@contextmanager
def _synchronous(conn: sqlite3.Connection, durable: bool) -> Iterator[None]:
    """`synchronous=NORMAL` for the block unless `durable`, FULL again after it."""
    if durable:
        yield
        return
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        conn.execute("PRAGMA synchronous=FULL")


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE ... COMMIT` around the block, rolled back if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _create_private(path: Path) -> None:
    """Create the file readable by this user only before SQLite opens it (customer data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    path.chmod(0o600)


def _migrate(conn: sqlite3.Connection) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the till database is schema {version}, newer than this tillcrm ({SCHEMA_VERSION}); "
            "upgrade tillcrm"
        )
    for number in range(version, SCHEMA_VERSION):
        with _immediate(conn):
            for statement in _statements(_MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit behind our back)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


def open_database(path: Path) -> TillDatabase:
    """Open (creating and migrating as needed) the till database at `path`, mode 0600."""
    _create_private(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    _migrate(conn)
    _finish_interrupted_bulk_load(conn)
    return TillDatabase(conn, path)


def _finish_interrupted_bulk_load(conn: sqlite3.Connection) -> None:
    """A first pull killed mid-way left its indexes unbuilt: build them before anyone searches."""
    if bulk_load.in_progress(conn):
        with _immediate(conn):
            bulk_load.finish(conn)
