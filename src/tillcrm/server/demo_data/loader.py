"""The bulk loader: the catalog and N generated customers into a migrated CRM database.

The same seed and the same `now` give the same rows, so a demo, a screenshot or a benchmark
can be repeated.

A million customers must load in under two minutes on SQLite, so: worker processes generate
chunks of customers and encode their rows for the driver while this process writes the previous
chunk (one compiled INSERT per table, the driver's `executemany`, one transaction per chunk); the
CRM's counters are advanced once for the whole load (customer numbers, change sequence) or once
per chunk (transaction numbers); profiles are validated once as a template and filled in with
`model_copy`, and their stored columns come from `customer_rows.profile_columns`, exactly as for
a customer made at a till. On SQLite the search index is built once after the load instead of
row by row (see `_search_index_built_after`).
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import operator
import os
import secrets
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine

from tillcrm.domain import Role, Store
from tillcrm.server import admin
from tillcrm.server.context import hash_token
from tillcrm.server.db import advance_counter, writing
from tillcrm.server.demo_data.accounts import _Chunk
from tillcrm.server.demo_data.catalog import (
    _CATEGORIES,
    _VENUES,
    CASHIER_CODE,
    CASHIER_PIN,
    DEMO_CUSTOMERS,
    DEMO_FIELDS,
    DEMO_ORGS,
    DEMO_SETTINGS,
    SUPERVISOR_BADGE,
    SUPERVISOR_CODE,
    SUPERVISOR_PIN,
    _calendar,
    _category_id,
    _history_till,
    _past_events,
)
from tillcrm.server.demo_data.generator import _BLOCK, MAX_DEMO_CUSTOMERS, _Generator
from tillcrm.server.ops.sales import TRANSACTION_NUMBER
from tillcrm.server.org_config import define_field, put_setting
from tillcrm.server.tables import (
    authorized_users,
    customer_registrations,
    customers,
    identifiers,
    organizations,
    points_accounts,
    points_ledger,
    store_credit_ledger,
    stored_value_cards,
    stored_value_ledger,
    suites,
    till_sync,
    tills,
    transactions,
    wallet_cards,
)

CHUNK = 25_000
"""Customers per transaction: large enough that commits cost nothing, small enough that the
SQLite write-ahead log is checkpointed as the load goes."""

_SQLITE_CACHE_KIB = 256 * 1024
"""Page cache of the loading connection: the indexes of a million customers stay in memory."""


class DemoAlreadyLoadedError(Exception):
    """The database already holds the demo organizations."""


@dataclass
class DemoSummary:
    """What was loaded: rows per table that a demo or a test counts on."""

    customers: int = 0
    identifiers: int = 0
    transactions: int = 0
    points_ledger: int = 0
    stored_value_cards: int = 0
    authorized_users: int = 0
    suites: int = 0

    def add(self, other: DemoSummary) -> None:
        """Count `other`'s rows in too."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


class _RowEncoder:
    """Rows of one table as the database driver takes them, for one compiled INSERT.

    Values go through each column type's own bind processor, so they are stored exactly as a
    Core insert would store them; only SQLAlchemy's per-row bookkeeping is skipped, which is
    most of the cost of a million-row load. Encoding runs in the generating worker process.
    """

    def __init__(self, dialect: Dialect, table: sa.Table, columns: Sequence[str]) -> None:
        compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.keys = list(compiled.positiontup or columns) if self.positional else list(columns)
        self.values = operator.itemgetter(*self.keys)
        self.conversions = [
            (position, processor)
            for position, key in enumerate(self.keys)
            if (processor := table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
        ]

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Driver parameters for `executemany`: tuples, or dicts for a named paramstyle."""
        params: list[Any] = []
        for row in rows:
            values = list(self.values(row))
            for position, processor in self.conversions:
                values[position] = processor(values[position])
            params.append(
                tuple(values) if self.positional else dict(zip(self.keys, values, strict=True))
            )
        return params


def _encoded(dialect: Dialect, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> _Batch:
    encoder = _RowEncoder(dialect, table, list(rows[0]))
    return _Batch(table.name, encoder.sql, encoder.encode(rows))


@dataclass(frozen=True)
class _Batch:
    """One table's rows of a chunk, ready for the driver."""

    table: str
    sql: str
    params: list[Any]


def _organizations(conn: Connection, now: datetime) -> None:
    """Organizations, brands, stores, history tills, operators, seasons, events, categories."""
    for demo in DEMO_ORGS:
        admin.add_organization(conn, demo.org)
        for brand in demo.brands:
            admin.add_brand(conn, brand)
            store = admin.add_store(
                conn, Store(id=demo.store_id(brand), brand_id=brand.id, name=brand.name)
            )
            till_id = _history_till(demo, brand)
            conn.execute(
                tills.insert().values(
                    id=till_id,
                    store_id=store.id,
                    name="Till 1",
                    token_hash=hash_token(secrets.token_urlsafe(32)),
                    enrolled_at=now - timedelta(days=800),
                )
            )
            conn.execute(till_sync.insert().values(till_id=till_id, last_seq=0))
        if demo.org.parent_id is not None:
            continue  # the parent's operators work at its children's stores
        admin.add_operator(
            conn,
            org_id=demo.org.id,
            operator_id=f"{demo.org.id}-cashier",
            code=CASHIER_CODE,
            name="Casey Cashier",
            pin=CASHIER_PIN,
        )
        admin.add_operator(
            conn,
            org_id=demo.org.id,
            operator_id=f"{demo.org.id}-supervisor",
            code=SUPERVISOR_CODE,
            name="Sam Supervisor",
            pin=SUPERVISOR_PIN,
            role=Role.SUPERVISOR,
            badge=SUPERVISOR_BADGE,
        )
    for demo in DEMO_ORGS:
        calendar = _calendar(demo.org.id, now)
        for season in calendar.seasons:
            admin.add_season(conn, demo.org.id, season)
        for event in calendar.events:
            admin.add_event(conn, demo.org.id, event)
        for category in _CATEGORIES:
            admin.add_promotion_category(
                conn, demo.org.id, category.model_copy(update={"id": _category_id(demo, category)})
            )
    for definition in DEMO_FIELDS:
        define_field(conn, definition)
    for owner_id, key, value in DEMO_SETTINGS:
        put_setting(conn, owner_id, key, value)


@dataclass(frozen=True)
class _ChunkJob:
    """Customers `start` to `stop` (exclusive) of a load: what a worker needs to make them."""

    db_url: str
    seed: int
    now: datetime
    start: int
    stop: int
    first_number: int
    """Customer number of customer 0 of the load."""
    first_change: int
    """Change sequence of customer 0 of the load."""


@dataclass
class _EncodedChunk:
    """A chunk's rows ready for the driver, and its sales (numbered when written)."""

    batches: list[_Batch]
    sales: list[dict[str, Any]]
    summary: DemoSummary


def _make_chunk(dialect: Dialect, job: _ChunkJob) -> _EncodedChunk:
    """Generate and encode the customers of one chunk."""
    generator = _Generator(job.seed, job.now, _past_events(job.now))
    chunk = _Chunk()
    for index in range(job.start, job.stop):
        generator.customer(chunk, index, job.first_number + index, job.first_change + index)
    points_rows = [
        {"customer_id": customer_id, "account": account, "balance": balance}
        for (customer_id, account), balance in chunk.points.items()
    ]
    plan: list[tuple[sa.Table, list[dict[str, Any]]]] = [
        (customers, chunk.customers),
        (customer_registrations, chunk.registrations),
        (identifiers, chunk.identifiers),
        (points_accounts, points_rows),
        (points_ledger, chunk.points_ledger),
        (stored_value_cards, chunk.cards),
        (stored_value_ledger, chunk.card_ledger),
        (store_credit_ledger, chunk.credit_ledger),
        (authorized_users, chunk.users),
        (suites, chunk.suites),
        (wallet_cards, chunk.wallet),
    ]
    summary = DemoSummary(
        customers=len(chunk.customers),
        identifiers=len(chunk.identifiers),
        transactions=len(chunk.sales),
        points_ledger=len(chunk.points_ledger),
        stored_value_cards=len(chunk.cards),
        authorized_users=len(chunk.users),
        suites=len(chunk.suites),
    )
    batches = [_encoded(dialect, table, rows) for table, rows in plan if rows]
    return _EncodedChunk(batches, chunk.sales, summary)


@functools.cache
def _dialect_of(db_url: str) -> Dialect:
    return sa.create_engine(db_url).dialect


def _make_chunk_in_worker(job: _ChunkJob) -> _EncodedChunk:
    """`_make_chunk` in a worker process, which builds the dialect from the URL itself."""
    return _make_chunk(_dialect_of(job.db_url), job)


def _write_chunk(conn: Connection, chunk: _EncodedChunk) -> None:
    """Insert a generated chunk; its sales take their numbers from the CRM's counter here."""
    for batch in chunk.batches:
        conn.exec_driver_sql(batch.sql, batch.params)
    if chunk.sales:
        first = advance_counter(conn, TRANSACTION_NUMBER, len(chunk.sales)).start
        for offset, sale in enumerate(chunk.sales):
            sale["number"] = f"T{first + offset:010d}"
        batch = _encoded(conn.dialect, transactions, chunk.sales)
        conn.exec_driver_sql(batch.sql, batch.params)


def _generated(engine: Engine, jobs: list[_ChunkJob], workers: int) -> Iterator[_EncodedChunk]:
    """The chunks in order; made by `workers` processes, a few chunks ahead of the writer."""
    if workers < 1 or len(jobs) == 1:
        yield from (_make_chunk(engine.dialect, job) for job in jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        ahead: deque[Future[_EncodedChunk]] = deque()
        pending = iter(jobs)
        for job in itertools.islice(pending, workers + 1):
            ahead.append(pool.submit(_make_chunk_in_worker, job))
        while ahead:
            done = ahead.popleft().result()
            for job in itertools.islice(pending, 1):
                ahead.append(pool.submit(_make_chunk_in_worker, job))
            yield done


def load_demo_data(
    engine: Engine,
    *,
    customers_count: int,
    seed: int = 1,
    now: datetime | None = None,
    chunk_size: int = CHUNK,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Load the demo organizations and `customers_count` customers into a migrated database.

    Deterministic for a given `seed` and `now` (default: the current time; events, suites and
    history are placed around it), whatever `chunk_size` (a multiple of 1,000) and `workers`
    (processes generating chunks while this one writes; default: one per CPU, none for a
    single chunk). Raises `DemoAlreadyLoadedError` on a database that has the demo already.
    `progress` is called with the number of customers written after each chunk.
    """
    if not len(DEMO_CUSTOMERS) <= customers_count <= MAX_DEMO_CUSTOMERS:
        raise ValueError(
            f"customers must be between {len(DEMO_CUSTOMERS)} and {MAX_DEMO_CUSTOMERS}"
        )
    if chunk_size < _BLOCK or chunk_size % _BLOCK:
        raise ValueError(f"chunk_size must be a multiple of {_BLOCK}")
    now = now or datetime.now(UTC)
    with writing(engine) as conn:
        taken = conn.execute(
            sa.select(organizations.c.id).where(organizations.c.id == _VENUES.org.id)
        ).first()
        if taken is not None:
            raise DemoAlreadyLoadedError("the demo data is already loaded in this database")
        _organizations(conn, now)
        first_number = advance_counter(conn, "customer_number", customers_count).start
        first_change = advance_counter(conn, "changes", customers_count).start
    db_url = engine.url.render_as_string(hide_password=False)
    jobs = [
        _ChunkJob(
            db_url,
            seed,
            now,
            start,
            min(start + chunk_size, customers_count),
            first_number,
            first_change,
        )
        for start in range(0, customers_count, chunk_size)
    ]
    summary = DemoSummary()
    workers = (os.cpu_count() or 1) if workers is None else workers
    with _loading_connection(engine) as conn, _search_index_built_after(conn):
        for chunk in _generated(engine, jobs, workers):
            with conn.begin():
                _write_chunk(conn, chunk)
            summary.add(chunk.summary)
            if progress is not None:
                progress(summary.customers)
    return summary


@contextmanager
def _loading_connection(engine: Engine) -> Iterator[Connection]:
    """One connection for the whole load, tuned for it on SQLite and put back as it was.

    A large page cache keeps the growing indexes in memory. While no other connection is
    open, the load writes through a rollback journal instead of the write-ahead log: pages
    appended to a new database are then written once, not first to the log and again at
    the checkpoint, which halves the disk traffic of a million customers. `synchronous=NORMAL`
    leaves out the per-commit sync that buys nothing here: a crash may lose the last chunks
    (the load is run again), never corrupt the file. All of it is set on the driver's
    connection because SQLite refuses to change these inside a transaction.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        saved = {
            pragma: raw.execute(f"PRAGMA {pragma}").fetchone()[0]
            for pragma in ("synchronous", "cache_size")
        }
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        try:
            journal = raw.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:  # another connection has the database open
            journal = "wal"
        try:
            yield conn
        finally:
            if journal != "wal":
                raw.execute("PRAGMA journal_mode=WAL")
            for pragma, value in saved.items():
                raw.execute(f"PRAGMA {pragma}={int(value)}")


_SEARCH_INSERT_TRIGGER = "customers_search_insert"
"""Migration 0002's trigger that indexes each new customer for search on SQLite."""

_REBUILD_SEARCH = "INSERT INTO customers_search (customers_search) VALUES ('rebuild')"
"""FTS5's command to index its whole content table (`customers`) anew."""


@contextmanager
def _search_index_built_after(conn: Connection) -> Iterator[None]:
    """On SQLite, index the loaded customers for search once, after the load.

    The FTS5 trigram index was kept in step row by row by a trigger, which cost most of a
    million-customer load; one `rebuild` from the customers table at the end costs a
    fraction of it and gives the same index. The trigger is dropped for the load and made
    again from its own stored definition, also when the load fails (the rebuild then indexes
    whatever was committed). Other databases keep their index as it is.
    """
    definition = None
    if conn.dialect.name == "sqlite":
        definition = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (_SEARCH_INSERT_TRIGGER,),
        ).scalar_one_or_none()
        conn.rollback()  # end the read's transaction: each chunk begins its own
    if definition is None:
        yield
        return
    with conn.begin():
        conn.exec_driver_sql(f"DROP TRIGGER {_SEARCH_INSERT_TRIGGER}")
    try:
        yield
    finally:
        with conn.begin():
            conn.exec_driver_sql(_REBUILD_SEARCH)
            conn.exec_driver_sql(definition)
