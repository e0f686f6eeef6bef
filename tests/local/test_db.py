"""The till database: private file, durable settings, versioned schema, one writer process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tillcrm.local.db import SCHEMA_VERSION, open_database
from tillcrm.local.lock import TillLock, TillLockedError


def test_database_is_private_durable_and_migrated(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    assert (tmp_path / "till.sqlite3").stat().st_mode & 0o777 == 0o600
    assert db.read("PRAGMA journal_mode")[0][0] == "wal"
    assert db.read("PRAGMA synchronous")[0][0] == 2  # FULL
    assert db.read("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    db.close()


def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")
    with db.write() as conn:
        conn.execute("INSERT INTO meta VALUES ('cursor', '42')")
    db.close()
    again = open_database(tmp_path / "till.sqlite3")
    assert again.read("SELECT value FROM meta WHERE key = 'cursor'")[0][0] == "42"
    again.close()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.sqlite3")

    def insert_twice() -> None:
        with db.write() as conn:
            conn.execute("INSERT INTO meta VALUES ('a', '1')")
            conn.execute("INSERT INTO meta VALUES ('a', '2')")

    with pytest.raises(sqlite3.IntegrityError):
        insert_twice()
    assert db.read("SELECT count(*) FROM meta")[0][0] == 0
    db.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="upgrade tillcrm"):
        open_database(path)


def test_a_second_till_process_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from tillcrm.local.lock import TillLock; "
            "lock = TillLock(pathlib.Path(sys.argv[1])); lock.acquire(); "
            "print('held', flush=True); sys.stdin.read()",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TillLockedError, match=rf"pid {holder.pid}\) is using {tmp_path}"):
            TillLock(tmp_path).acquire()
    finally:
        holder.communicate("")
    with TillLock(tmp_path):  # the holder exited: the lock is free again
        pass
