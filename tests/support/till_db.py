"""Checks of a till database's state that no public API reads."""

from __future__ import annotations

from tillcrm.local import TillDatabase


def assert_search_index_matches_the_customers(db: TillDatabase) -> None:
    """FTS5's own check of the trigram index against the text it reads from the customers
    (`customer_text_source`): it fails on a customer without a search row, and on a row left
    from an old name."""
    with db.write() as conn:
        conn.execute(
            "INSERT INTO customer_text (customer_text, rank) VALUES ('integrity-check', 1)"
        )


def wal_folded_in(db: TillDatabase) -> bool:
    """Whether the database file itself holds every page (nothing waits in the WAL only)."""
    (pages,) = db.read("PRAGMA page_count")[0]
    (page_size,) = db.read("PRAGMA page_size")[0]
    return bool(db.path.stat().st_size == pages * page_size)
