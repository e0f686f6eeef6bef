"""Alembic environment: migrations run on the CRM's own engine (same SQLite pragmas)."""

from __future__ import annotations

from alembic import context

from tillcrm.server.db import create_db_engine
from tillcrm.server.tables import metadata

url = context.config.get_main_option("sqlalchemy.url")
assert url is not None
engine = create_db_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
