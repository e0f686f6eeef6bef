"""Database engine for the CRM: SQLite by default, PostgreSQL for a chain of stores.

Writes go through `writing()`, one transaction each. On SQLite that transaction starts with
`BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing mid-way with "database is
locked"; reads go through `reading()` and do not take the write lock (WAL lets them run beside
a writer). On PostgreSQL the per-till row lock in the push path does the same job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from tillcrm.server.tables import counters

__all__ = ["create_db_engine", "default_db_url", "next_counter", "reading", "writing"]

_READ_ONLY = "tillcrm_read_only"


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
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot that never waits for the write lock."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_READ_ONLY: True})
        with conn.begin():
            yield conn


def next_counter(conn: Connection, name: str) -> int:
    """Increment counter `name` and return its new value (row-locked until commit)."""
    value = conn.execute(
        counters.update()
        .where(counters.c.name == name)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    ).scalar_one_or_none()
    if value is None:
        conn.execute(counters.insert().values(name=name, value=1))
        return 1
    return int(value)
