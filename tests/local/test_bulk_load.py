"""A bulk load starts only on an empty cache, and a customer the till stores beside it (an
offline edit while the first pull runs) ends up searchable once, like every pulled one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.test_cache import ANNA, BOB, GONE
from tests.support.till_db import assert_search_index_matches_the_customers
from tillcrm.local import CustomerCache, TillDatabase, bulk_load, open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    yield database
    database.close()


def test_a_bulk_load_starts_only_on_an_empty_cache(db: TillDatabase) -> None:
    with db.write() as conn:
        CustomerCache.store(conn, [ANNA])
        assert not bulk_load.begin(conn)
        assert not bulk_load.in_progress(conn)


def test_a_customer_stored_beside_a_bulk_load_is_searchable_once_after_it(
    db: TillDatabase,
) -> None:
    with db.write() as conn:
        assert bulk_load.begin(conn)
        CustomerCache.store(conn, [ANNA, GONE])
    with db.write() as conn:  # the till's own write between two pages, Anna's again
        CustomerCache.store(conn, [BOB, ANNA])
    cache = CustomerCache(db)
    with db.write() as conn:
        bulk_load.finish(conn)
        bulk_load.finish(conn)  # a second finish has nothing to do

    assert [row.id for row in cache.by_text("Jones")] == [BOB.id]
    assert [row.id for row in cache.by_text("Smithson")] == [ANNA.id]
    assert_search_index_matches_the_customers(db)


def test_finish_leaves_the_connection_and_the_search_index_settings_as_they_were(
    db: TillDatabase,
) -> None:
    with db.write() as conn:
        assert bulk_load.begin(conn)
        CustomerCache.store(conn, [ANNA])
    with db.write() as conn:
        bulk_load.finish(conn)

    assert db.read("PRAGMA mmap_size")[0][0] == 0
    hashsize = db.read("SELECT v FROM customer_text_config WHERE k = 'hashsize'")
    assert [row[0] for row in hashsize] == [1024 * 1024]
    assert [row.id for row in CustomerCache(db).by_text("Smithson")] == [ANNA.id]
