"""Opening the till's own parts from the config: its database (under the lock that keeps a
second till process out), a read-only view of it, and a CRM client holding the till's token.

`tillcrm sync` and `tillcrm doctor` use these, and so will the till's app factory, so every
entry point finds the database in the same place and refuses a second writer the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from tillcrm.config import Settings
from tillcrm.crm import CrmClient, NoTokenError, load_token
from tillcrm.local import TillDatabase, TillLock, TillLockedError, open_database

__all__ = ["TILL_DB_NAME", "crm_client", "read_only_database", "till_db_path", "writable_database"]

TILL_DB_NAME = "till.sqlite3"
"""The till's database file in `data_dir`, beside its lock file."""


def till_db_path(settings: Settings) -> Path:
    """Where this till's database lives."""
    return settings.data_dir / TILL_DB_NAME


@contextmanager
def writable_database(settings: Settings) -> Iterator[TillDatabase]:
    """The till's database, opened (created, migrated) under the till lock.

    A second process gets a `ClickException` naming the folder and the holder's pid.
    """
    lock = TillLock(settings.data_dir)
    try:
        lock.acquire()
    except TillLockedError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        db = open_database(till_db_path(settings))
        try:
            yield db
        finally:
            db.close()
    finally:
        lock.release()


def read_only_database(settings: Settings) -> TillDatabase | None:
    """The till's database opened read-only, without the lock (the till may be running);
    None when there is no database yet."""
    path = till_db_path(settings)
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=5000")
    return TillDatabase(conn, path)


def crm_client(settings: Settings) -> CrmClient:
    """A client acting as this till; raises `ClickException` naming the fix when the till has
    no token (not registered, no keyring backend)."""
    try:
        token = load_token(settings.till.id)
    except NoTokenError as exc:
        raise click.ClickException(str(exc)) from exc
    return CrmClient(
        settings.crm.url,
        token=token,
        connect_timeout=settings.crm.connect_timeout,
        read_timeout=settings.crm.read_timeout,
        ca_bundle=settings.crm.ca_bundle,
    )
