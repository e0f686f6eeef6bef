"""The first pull into an empty cache is a bulk load: its indexes are built once at the end,
and search finds every customer afterwards, whether the pull ended, failed or was killed.

The killed pull is a real process (`sys.executable` running the till's own engine on a real
SQLite file) SIGKILLed by itself right after its second page committed; the CRM is the
reference CRM on loopback.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.customers import put_customer
from tests.support.till_db import assert_search_index_matches_the_customers, file_alone_answers
from tests.support.world import World
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import CustomerCache, TillDatabase, bulk_load, open_database
from tillcrm.sync import PullProgress, SyncEngine

PAGE = 2

KILLED_PULLER = """
import asyncio, os, signal, sys
from pathlib import Path
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import open_database
from tillcrm.sync import SyncEngine
from tillcrm.sync._pull import Puller

path, url, token, page = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
store_page = Puller._store_page
committed = []

def store_then_die_after_two(self, *args, **kwargs):
    committed.append(store_page(self, *args, **kwargs))  # the page and its cursor committed
    if len(committed) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return committed[-1]

Puller._store_page = store_then_die_after_two

async def main() -> None:
    db = open_database(path)
    async with CrmClient(url, token=token) as client:
        await SyncEngine(db, client, SyncSettings(pull_page_size=page)).pull_once()

asyncio.run(main())
"""
"""A first pull that dies (SIGKILL) right after its second page committed."""


_INDEX_NAMES = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"


def _indexes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "ORDER BY name"
        )
    ]


def _assert_fully_indexed(db: TillDatabase, tmp_path: Path) -> None:
    """Every index of a new database is there, and every customer has its search row."""
    fresh = open_database(tmp_path / "fresh.sqlite3")
    try:
        assert _indexes(db.connection) == _indexes(fresh.connection)
    finally:
        fresh.close()
    assert not bulk_load.in_progress(db.connection)
    assert_search_index_matches_the_customers(db)


def _names(world: World, count: int, prefix: str) -> list[str]:
    names = [f"{prefix}{chr(ord('a') + i)}" for i in range(count)]
    for name in names:
        put_customer(world, "brand", "a", first_name=name, last_name="Bulkload")
    return names


async def test_a_first_pull_builds_its_indexes_once_and_search_finds_everyone(
    tmp_path: Path, loopback_world: World
) -> None:
    names = _names(loopback_world, 2 * PAGE + 1, "Quilla")
    db = open_database(tmp_path / "till.sqlite3")
    try:
        async with CrmClient(loopback_world.crm.url, token=loopback_world.tokens["brand.a"]) as c:
            pulled = await SyncEngine(db, c, SyncSettings(pull_page_size=PAGE)).pull_once()

        cache = CustomerCache(db)
        assert pulled == cache.count()
        _assert_fully_indexed(db, tmp_path)
        for name in names:
            assert [row.first_name for row in cache.search(name)] == [name]
        # Its WAL was folded in by the checkpointer aside, the last round included (the
        # end-of-load indexes too); the commits after it checkpoint for themselves again.
        assert file_alone_answers(db, "SELECT count(*) FROM customers") == [(pulled,)]
        assert file_alone_answers(db, _INDEX_NAMES) == [tuple(row) for row in db.read(_INDEX_NAMES)]
        assert db.read("PRAGMA wal_autocheckpoint")[0][0] == 1000
    finally:
        db.close()


async def test_a_first_pull_reports_its_progress_page_by_page_and_a_later_one_does_not(
    tmp_path: Path, loopback_world: World
) -> None:
    _names(loopback_world, 2 * PAGE + 1, "Pria")
    reported: list[PullProgress] = []
    db = open_database(tmp_path / "till.sqlite3")
    try:
        async with CrmClient(loopback_world.crm.url, token=loopback_world.tokens["brand.a"]) as c:
            engine = SyncEngine(
                db, c, SyncSettings(pull_page_size=PAGE), on_pull_progress=reported.append
            )
            pulled = await engine.pull_once()
            first = list(reported)
            put_customer(loopback_world, "brand", "a", first_name="Later")
            assert await engine.pull_once() == 1
    finally:
        db.close()

    pages = -(-pulled // PAGE)
    assert [(p.done, p.total, p.finished) for p in first] == [
        (0, pulled, False),
        *[(min(n * PAGE, pulled), pulled, False) for n in range(1, pages + 1)],
        (pulled, pulled, True),
    ]
    assert reported == first  # the pull after the first is not a full one: no progress


async def test_a_first_pull_killed_mid_way_is_finished_by_the_next_start(
    tmp_path: Path, loopback_world: World
) -> None:
    names = _names(loopback_world, 2 * PAGE + 1, "Rennie")
    path = tmp_path / "till.sqlite3"
    url, token = loopback_world.crm.url, loopback_world.tokens["brand.a"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PULLER, str(path), url, token, str(PAGE)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with sqlite3.connect(path) as left:
        assert bulk_load.in_progress(left)
        (stored,) = left.execute("SELECT count(*) FROM customers").fetchone()
    assert stored == 2 * PAGE

    db = open_database(path)  # the next start
    try:
        _assert_fully_indexed(db, tmp_path)
        async with CrmClient(url, token=token) as client:
            await SyncEngine(db, client, SyncSettings(pull_page_size=PAGE)).pull_once()
        _assert_fully_indexed(db, tmp_path)
        cache = CustomerCache(db)
        for name in names:
            assert [row.first_name for row in cache.search(name)] == [name]
    finally:
        db.close()
