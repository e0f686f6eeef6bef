"""Writes that need not be durable (pull pages), and the WAL folded in by a thread aside."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.till_db import file_alone_answers
from tillcrm.local import TillDatabase
from tillcrm.local.checkpointer import Checkpointer
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


def test_checkpoints_aside_keep_the_wal_bounded_and_fold_it_all_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    wal = tmp_path / "till.sqlite3-wal"
    waits: list[bool] = []
    make_room = Checkpointer.make_room

    def counted(checkpointer: Checkpointer) -> bool:
        waits.append(make_room(checkpointer))
        return waits[-1]

    monkeypatch.setattr(Checkpointer, "make_room", counted)
    bound = 4 * _ROW
    largest = 0
    with db.checkpoints_aside(wal_bound=bound):
        assert db.read("PRAGMA wal_autocheckpoint")[0][0] == 0
        for n in range(60):
            _put(db, f"page-{n:02}", durable=False)
            largest = max(largest, wal.stat().st_size)
        _put(db, "finish")
    # The transaction after a round that found the WAL past its bound waits for the round
    # under way, then starts the WAL again from its beginning: the file stops growing, and
    # the writer waits about once each time the bound fills up again, not on every write.
    assert largest <= bound + 3 * _ROW
    assert 0 < waits.count(True) <= len(waits) // 3
    assert db.read("PRAGMA wal_autocheckpoint")[0][0] == 1000
    assert file_alone_answers(db, "SELECT count(*) FROM meta") == [(61,)]
    db.close()


def test_checkpoints_cannot_run_aside_twice_at_once(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    with (
        db.checkpoints_aside(),
        pytest.raises(RuntimeError, match="already"),
        db.checkpoints_aside(),
    ):
        pass
    assert db.read("PRAGMA wal_autocheckpoint")[0][0] == 1000
    db.close()


def test_a_checkpointer_that_stopped_never_holds_up_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_database(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    db = open_database(tmp_path / "till.sqlite3")
    monkeypatch.setattr("tillcrm.local.checkpointer.sqlite3.connect", no_database)
    with db.checkpoints_aside(wal_bound=0):
        for n in range(5):
            _put(db, f"page-{n}", durable=False)
    assert db.read("SELECT count(*) FROM meta")[0][0] == 5
    db.close()
