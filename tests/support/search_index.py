"""The till cache's trigram index checked against the customers it is built from."""

from __future__ import annotations

from tillcrm.local import TillDatabase


def assert_search_index_matches_the_customers(db: TillDatabase) -> None:
    """FTS5's own check of the index against the text it reads from the customers
    (`customer_text_source`): it fails on a customer without a search row, and on a row left
    from an old name."""
    with db.write() as conn:
        conn.execute(
            "INSERT INTO customer_text (customer_text, rank) VALUES ('integrity-check', 1)"
        )
