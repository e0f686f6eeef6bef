"""Database engine for the CRM: SQLite by default, PostgreSQL for a chain of stores.

Writes go through `writing()`, one transaction each. On SQLite that transaction starts with
`BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing mid-way with "database is
locked"; reads go through `reading()` and do not take the write lock (WAL lets them run beside
a writer). On PostgreSQL the per-till row lock in the push path does the same job.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

from tillcrm.server.tables import counters, customers

__all__ = [
    "UNSTAMPED",
    "advance_counter",
    "all_or_nothing",
    "change_seq",
    "changes_here",
    "create_db_engine",
    "default_db_url",
    "insert_later",
    "memo_of",
    "next_counter",
    "next_number",
    "reading",
    "writing",
]

_READ_ONLY = "tillcrm_read_only"

_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
"""One lock per SQLite engine that its write transactions take in turn.

SQLite lets one writer in at a time, and its busy handler is not a queue: a writer waiting in
`BEGIN IMMEDIATE` polls, and under 20 tills pushing at once an unlucky one starved past the
busy timeout ("database is locked"). Waiting on this lock instead is fair enough, and the
waiting thread holds no pooled connection. Another process writing the same file still meets
the busy timeout, as before."""

SQLITE_POOL_SIZE = 25
SQLITE_POOL_OVERFLOW = 15
"""A SQLite connection is a file handle, so the pool can be as big as the server's worker
threads (AnyIO's 40): 20 tills pushing at once each hold one while their batch waits for the
write lock, and reads beside them need their own. SQLAlchemy's default 5 + 10 made requests
fail after 30 s of waiting for a connection rather than for the lock."""


def default_db_url(data_dir: Path) -> str:
    """The embedded CRM's SQLite file under the data dir."""
    return f"sqlite:///{data_dir / 'crm.sqlite3'}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_db_engine(url: str) -> Engine:
    """An engine for `url`, with SQLite made safe for concurrent writers."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
            pool_timeout=60,
        )
        _sqlite_setup(engine)
        _SQLITE_WRITERS[engine] = threading.Lock()
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


_WRITE_STATE = "tillcrm_write_state"
"""`Connection.info` key of a `writing()` transaction's `_WriteState`."""


@dataclass
class _WriteState:
    """What a `writing()` transaction settles just before its COMMIT, and numbers it reserved."""

    changed: dict[UUID, int] = field(default_factory=dict)
    """Customers it inserted or changed, in order, each with how many times (see
    `change_seq`)."""
    reserved: dict[str, Iterator[int]] = field(default_factory=dict)
    """Counter values taken for it in one go (see `_reserved`)."""
    later: dict[Insert, list[dict[str, Any]]] | None = None
    """Rows `insert_later` holds back until the COMMIT, by statement; None when it inserts
    at once (see `writing`'s `all_or_nothing`)."""
    memo: dict[Any, Any] = field(default_factory=dict)
    """What a transaction read once to use many times (see `memo_of`)."""


UNSTAMPED = 0
"""The `change_seq` a customer inserted in a `writing()` transaction carries until the stamp
just before its COMMIT (see `change_seq`); no other transaction ever sees it."""


@contextmanager
def writing(
    engine: Engine, *, reserve: Mapping[str, int] | None = None, all_or_nothing: bool = False
) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises.

    The customers it changed take their change sequence just before the COMMIT (see
    `change_seq`). `reserve` maps counters to how many values the transaction may take of
    each with `next_number`, taken in one go (see `_reserved`).

    An `all_or_nothing` transaction is never partly undone (no savepoint rolls back inside
    it, see `all_or_nothing`), so the rows nothing reads back before the COMMIT can wait for
    it: `insert_later` holds them and they go in with one statement per table just before
    the COMMIT, instead of one round trip each. A row the database refuses then fails the
    whole transaction.
    """
    ahead = _reserved(engine, None, reserve or {})
    with _SQLITE_WRITERS.get(engine) or nullcontext(), engine.begin() as conn:
        conn.info[_WRITE_STATE] = state = _WriteState(later={} if all_or_nothing else None)
        state.reserved = ahead or _reserved(engine, conn, reserve or {})
        try:
            yield conn
            for statement, rows in (state.later or {}).items():
                _insert_rows(conn, statement, rows)
            _stamp_changes(conn, list(state.changed))
        finally:
            del conn.info[_WRITE_STATE]  # `info` outlives this transaction: it is the driver's


def _insert_rows(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (each with the same keys) with one statement.

    psycopg runs an executemany as one pipelined statement per row, each with Python work of
    its own (docs/performance.md); a multi-row VALUES list is a new, long query text psycopg
    parses in Python on every push, and arrays to unnest are dumped in Python value by value.
    On PostgreSQL the rows therefore go in with COPY, whose rows psycopg formats in C (a JSON
    value is sent as its text, as SQLAlchemy would). SQLite's executemany is C already.
    """
    if conn.dialect.name != "postgresql" or len(rows) < 2:
        conn.execute(statement, rows)
        return
    table = statement.table
    names = tuple(rows[0])
    as_json = [isinstance(table.c[name].type, sa.JSON) for name in names]
    quote = conn.dialect.identifier_preparer.quote
    copying = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    cursor: Any = conn.connection.cursor()  # psycopg's; the DB-API types know no COPY
    with cursor, cursor.copy(copying) as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[name]) if is_json else row[name]
                    for name, is_json in zip(names, as_json, strict=True)
                ]
            )


def all_or_nothing(conn: Connection) -> bool:
    """Whether `conn`'s transaction is a `writing(all_or_nothing=True)` one: whatever fails
    in it fails all of it, so nothing in it needs a savepoint of its own."""
    state: _WriteState | None = conn.info.get(_WRITE_STATE)
    return state is not None and state.later is not None


def insert_later(conn: Connection, statement: Insert, row: dict[str, Any]) -> None:
    """Insert `row` with `statement`: at the COMMIT of an all-or-nothing transaction (see
    `writing`), else now. Only for rows nothing reads back in the same transaction; a key the
    row breaks is then refused at the COMMIT rather than here."""
    state: _WriteState | None = conn.info.get(_WRITE_STATE)
    if state is None or state.later is None:
        conn.execute(statement, row)
    else:
        state.later.setdefault(statement, []).append(row)


def changes_here(conn: Connection, customer_id: UUID) -> int:
    """How many times `conn`'s `writing()` transaction has changed the customer so far (see
    `change_seq`): a copy of the customer's row read at another count may be out of date."""
    state: _WriteState | None = conn.info.get(_WRITE_STATE)
    return state.changed.get(customer_id, 0) if state is not None else 0


def memo_of(conn: Connection) -> dict[Any, Any] | None:
    """A dict that lives as long as `conn`'s `writing()` transaction, for what it reads once
    and uses again and again (a promotion category, read by every sale of a push); None
    outside `writing()`. Whoever keeps something there keeps it up to date."""
    state: _WriteState | None = conn.info.get(_WRITE_STATE)
    return state.memo if state is not None else None


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot that never waits for the write lock."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_READ_ONLY: True})
        with conn.begin():
            yield conn


_BUMP_COUNTER = (
    counters.update()
    .where(counters.c.name == sa.bindparam("counter"))
    .values(value=counters.c.value + sa.bindparam("by", type_=sa.BigInteger))
    .returning(counters.c.value)
)


def advance_counter(conn: Connection, name: str, count: int) -> range:
    """Take the next `count` values of counter `name` in `conn`'s transaction, which holds the
    counter's row until it ends: values are handed out in the order transactions commit."""
    value = conn.execute(_BUMP_COUNTER, {"counter": name, "by": count}).scalar_one_or_none()
    if value is None:  # the counter's first use; ON CONFLICT: another first use may race us
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(insert(counters).values(name=name, value=0).on_conflict_do_nothing())
        value = conn.execute(_BUMP_COUNTER, {"counter": name, "by": count}).scalar_one()
    return range(int(value) - count + 1, int(value) + 1)


def next_counter(conn: Connection, name: str) -> int:
    """Increment counter `name` and return its new value (row-locked until commit)."""
    return advance_counter(conn, name, 1)[0]


def _reserved(
    engine: Engine, conn: Connection | None, counts: Mapping[str, int]
) -> dict[str, Iterator[int]]:
    """Values of counters for a `writing()` transaction, `counts[name]` of each, taken with
    one statement per counter: before its BEGIN (`conn` None) on PostgreSQL, inside it
    (`conn`) on SQLite; empty where the other database kind takes them.

    On PostgreSQL a transaction that takes a number holds the counter's row to its COMMIT,
    so tills pushing sales at once queued on it from their first sale to their commit. So
    there the values are taken in a transaction of their own, before the pooled connection of
    the transaction that uses them is taken. A value reserved and not used (the sale was
    refused, the push failed) is skipped for good: the numbers are unique and increasing, not
    gap-free. That commit skips the WAL flush: the transaction that uses the values flushes
    the WAL at its own COMMIT, which writes this commit record too, so no used value is handed
    out again after a crash. SQLite has one writer at a time, so nobody waits on the row there,
    and a commit of its own would cost an fsync.
    """
    counts = {name: count for name, count in counts.items() if count > 0}
    if not counts or (conn is None) == (engine.dialect.name == "sqlite"):
        return {}
    if conn is not None:
        return {name: iter(advance_counter(conn, name, n)) for name, n in counts.items()}
    with engine.begin() as own:
        own.exec_driver_sql("SET LOCAL synchronous_commit = off")
        return {name: iter(advance_counter(own, name, n)) for name, n in counts.items()}


def next_number(conn: Connection, name: str) -> int:
    """The next value of counter `name` for this transaction: a reserved one while any are
    left (see `writing`'s `reserve`), else one taken from the counter in this transaction."""
    state: _WriteState | None = conn.info.get(_WRITE_STATE)
    reserved = state.reserved.get(name) if state is not None else None
    value = next(reserved, None) if reserved is not None else None
    return value if value is not None else next_counter(conn, name)


def change_seq(conn: Connection, customer_id: UUID) -> int | None:
    """The `change_seq` a customer this transaction inserts or changes must be written with
    now, or None when it is stamped at COMMIT: pull's cursor for that customer.

    Pull pages by `change_seq`, so a change must never become visible with a number below
    one a till has already pulled past. Inside `writing()` the numbers are taken once for the
    whole transaction, just before its COMMIT, with the counter's row then held until the
    COMMIT: transactions get their numbers in the order they commit, and the row is held for
    two statements instead of from the first write to the end (on PostgreSQL every push
    queued on it). Until then an inserted customer carries `UNSTAMPED`. Outside `writing()`
    (a bare `engine.begin()`) the number is taken at once and the counter stays locked to the
    end of the transaction, which is just as correct.
    """
    state: _WriteState | None = conn.info.get(_WRITE_STATE)
    if state is None:
        return next_counter(conn, "changes")
    state.changed[customer_id] = state.changed.get(customer_id, 0) + 1
    return None


_STAMP = (
    customers.update()
    .where(customers.c.id == sa.bindparam("stamped_id"))
    .values(change_seq=sa.bindparam("stamped_seq", type_=sa.BigInteger))
)


def _stamp_changes(conn: Connection, changed: list[UUID]) -> None:
    """Give the customers a transaction changed their change sequence, last thing before its
    COMMIT. A customer whose op was rolled back gets a number too: a harmless extra pull."""
    if changed:
        numbers = advance_counter(conn, "changes", len(changed))
        conn.execute(
            _STAMP,
            [
                {"stamped_id": id_, "stamped_seq": seq}
                for id_, seq in zip(changed, numbers, strict=True)
            ],
        )
