"""The Alembic migrations build exactly the schema `tables.py` describes, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.support.crm_server import RunningCrm
from tillcrm.server.tables import metadata


def test_migrated_database_matches_the_tables(crm: RunningCrm) -> None:
    with crm.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
