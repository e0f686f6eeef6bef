"""index-backed substring search and landline lookup

Customer search (`GET /v1/customers?q=`) matches a substring of `customers.search_text`, which
a B-tree cannot serve: on 1,000,000 customers every search read the whole table. PostgreSQL gets
a GIN trigram index (pg_trgm) that serves `LIKE '%...%'` directly. SQLite gets an FTS5 trigram
table over the same column, kept in step with `customers` by triggers; the search route queries
it on SQLite. Neither is in `tables.metadata`: they are search machinery of one database each,
and `SEARCH_ONLY_OBJECTS` names them for the schema comparison.

Identify by phone also looks at the landline `phone` column, so it gets an index too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UP = (
    # External content: the text lives once, in `customers`; the FTS table holds the index.
    # It is keyed by the customers rowid, which a VACUUM may renumber (the table has no
    # INTEGER PRIMARY KEY): after one, run `INSERT INTO customers_search(customers_search)
    # VALUES ('rebuild')`.
    "CREATE VIRTUAL TABLE customers_search USING fts5("
    "search_text, content='customers', tokenize='trigram')",
    "CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN "
    "INSERT INTO customers_search (rowid, search_text) VALUES (new.rowid, new.search_text); "
    "END",
    "CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN "
    "INSERT INTO customers_search (customers_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "END",
    # Only an UPDATE that sets search_text: a sale's change_seq bump costs the index nothing.
    "CREATE TRIGGER customers_search_update AFTER UPDATE OF search_text ON customers BEGIN "
    "INSERT INTO customers_search (customers_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO customers_search (rowid, search_text) VALUES (new.rowid, new.search_text); "
    "END",
    "INSERT INTO customers_search (customers_search) VALUES ('rebuild')",
)

_SQLITE_DOWN = (
    "DROP TRIGGER customers_search_update",
    "DROP TRIGGER customers_search_delete",
    "DROP TRIGGER customers_search_insert",
    "DROP TABLE customers_search",
)


def upgrade() -> None:
    op.create_index("ix_customers_org_phone", "customers", ["org_id", "phone"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_customers_search_trgm ON customers USING gin (search_text gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX ix_customers_search_trgm")
    op.drop_index("ix_customers_org_phone", "customers")
