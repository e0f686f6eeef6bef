"""Writes that need not be durable (pull pages), and the WAL folded in by a thread aside."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.till_db import wal_folded_in
from tillcrm.local import TillDatabase
from tillcrm.local.db import open_database

_ROW = 200_000
"""Bytes of text each test transaction writes: about fifty WAL pages."""


def _put(db: TillDatabase, key: str, *, durable: bool = True) -> None:
    with db.write(durable=durable) as conn:
        conn.execute("INSERT INTO meta VALUES (?, ?)", (key, key * (_ROW // len(key))))


def test_a_write_that_need_not_be_durable_skips_only_its_own_fsync(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    with db.write(durable=False) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        conn.execute("INSERT INTO meta VALUES ('cursor', '7')")
    with pytest.raises(sqlite3.IntegrityError), db.write(durable=False) as conn:
        conn.execute("INSERT INTO meta VALUES ('cursor', '8')")
    with db.write() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
    assert db.read("SELECT value FROM meta")[0][0] == "7"
    db.close()


def test_checkpoints_aside_keep_the_wal_bounded_and_fold_it_all_in(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    wal = tmp_path / "till.sqlite3-wal"
    bound = 4 * _ROW
    largest = 0
    with db.checkpoints_aside(wal_bound=bound):
        assert db.read("PRAGMA wal_autocheckpoint")[0][0] == 0
        for n in range(60):
            _put(db, f"page-{n:02}", durable=False)
            largest = max(largest, wal.stat().st_size)
        _put(db, "finish")
    # The transaction that passes the bound waits for the round under way; the next one
    # starts the WAL again from its beginning.
    assert largest <= bound + 3 * _ROW
    assert db.read("PRAGMA wal_autocheckpoint")[0][0] == 1000
    assert wal_folded_in(db)
    assert db.read("SELECT count(*) FROM meta")[0][0] == 61
    db.close()
