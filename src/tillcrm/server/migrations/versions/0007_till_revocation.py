"""till revocation: a till's token can be revoked at once

A stolen or retired till must stop reaching the CRM the moment the back office says so, and
the CRM must remember when that was (the till's ops stay, attributed to it). A revoked till
keeps its row and its token hash; `revoked_at` refuses the token.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tills", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tills") as batch:
        batch.drop_column("revoked_at")
