"""Database engine for the CRM: SQLite by default, PostgreSQL for a chain of stores.

Writes go through `writing()`, one transaction each. On SQLite that transaction starts with
`BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing mid-way with "database is
locked"; reads go through `reading()` and do not take the write lock (WAL lets them run beside
a writer). On PostgreSQL the per-till row lock in the push path does the same job.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from tillcrm.server.tables import counters

__all__ = ["create_db_engine", "default_db_url", "next_counter", "reading", "writing"]

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


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with _SQLITE_WRITERS.get(engine) or nullcontext(), engine.begin() as conn:
        yield conn


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
    .values(value=counters.c.value + 1)
    .returning(counters.c.value)
)


def next_counter(conn: Connection, name: str) -> int:
    """Increment counter `name` and return its new value (row-locked until commit)."""
    value = conn.execute(_BUMP_COUNTER, {"counter": name}).scalar_one_or_none()
    if value is None:
        conn.execute(counters.insert(), {"name": name, "value": 1})
        return 1
    return int(value)
