"""The Alembic migrations build exactly the schema `tables.py` describes, on every database.

Only the search machinery of migration 0002 is left out of the comparison, deliberately: the
SQLite FTS5 table (and its shadow tables) and the PostgreSQL trigram index exist on one kind of
database each, so `tables.metadata` does not describe them (`SEARCH_ONLY_OBJECTS`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.support.crm_server import RunningCrm, database_kinds, fresh_database
from tillcrm.server.db import create_db_engine
from tillcrm.server.migrate import alembic_config
from tillcrm.server.tables import (
    SEARCH_ONLY_OBJECTS,
    metadata,
    operators,
    override_approvals,
    supervisor_verifications,
)


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


@pytest.mark.parametrize("kind", database_kinds())
def test_0010_keeps_operators_and_approvals_of_a_0009_database(kind: str, tmp_path: Path) -> None:
    """An operator of a 0009 database starts with no wrong PINs and no lock, and an approval
    accepted before the CRM verified supervisors is not flagged after the fact."""
    with fresh_database(kind, tmp_path) as url:
        command.upgrade(alembic_config(url), "0009")
        engine = create_db_engine(url)
        approval = UUID(int=7)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organizations (id, name, kind, customer_scope, points_policy,"
                    " currency, point_value) VALUES ('o', 'o', 'standard', 'brand',"
                    " 'shared_pool', 'USD', 1)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO operators (id, org_id, code, name, role, pin_hash, active)"
                    " VALUES ('o-super', 'o', 's', 'S', 'supervisor', 'scrypt$x', :yes)"
                ),
                {"yes": True},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO override_approvals (approval_id, till_id, used_at)"
                    " VALUES (:id, 'till-1', :at)"
                ),
                {"id": approval.hex if kind == "sqlite" else approval, "at": datetime.now(UTC)},
            )
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            operator = conn.execute(sa.select(operators)).one()
            old = conn.execute(sa.select(override_approvals)).one()
            verifications = conn.execute(
                sa.select(sa.func.count()).select_from(supervisor_verifications)
            ).scalar_one()
        assert (operator.wrong_pins, operator.locked_until) == (0, None)
        assert (old.approval_id, old.needs_review, old.reason) == (approval, False, "")
        assert verifications == 0
        command.downgrade(alembic_config(url), "0009")
        command.upgrade(alembic_config(url), "head")
        engine.dispose()
