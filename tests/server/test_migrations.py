"""The Alembic migrations build exactly the schema `tables.py` describes, on every database.

Only the search machinery of migration 0002 is left out of the comparison, deliberately: the
SQLite FTS5 table (and its shadow tables) and the PostgreSQL trigram index exist on one kind of
database each, so `tables.metadata` does not describe them (`SEARCH_ONLY_OBJECTS`).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.support.crm_server import RunningCrm
from tillcrm.server.tables import SEARCH_ONLY_OBJECTS, metadata


def _described_by_tables(name: str | None, type_: str, *_: Any) -> bool:
    return not any(
        name == search or (type_ == "table" and (name or "").startswith(f"{search}_"))
        for search in SEARCH_ONLY_OBJECTS
    )


def test_migrated_database_matches_the_tables(crm: RunningCrm) -> None:
    with crm.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _described_by_tables})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_the_search_machinery_exists_where_the_comparison_ignores_it(crm: RunningCrm) -> None:
    with crm.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name = 'customers_search'"
                " OR (type = 'trigger' AND tbl_name = 'customers')"
            ).scalars()
            expected = {
                "customers_search",
                "customers_search_insert",
                "customers_search_update",
                "customers_search_delete",
            }
        else:
            found = conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_customers_search_trgm'"
            ).scalars()
            expected = {"ix_customers_search_trgm"}
        assert set(found) == expected
