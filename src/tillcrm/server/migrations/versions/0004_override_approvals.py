"""used supervisor approvals

Each supervisor override carries an `approval_id` the till mints when the supervisor approves.
The CRM records every approval it accepts, so one approval cannot be replayed for another
action; the same op resent is answered from `applied_ops` and never reaches this table twice.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "override_approvals",
        sa.Column("approval_id", sa.Uuid(), nullable=False),
        sa.Column("op_id", sa.Uuid(), nullable=True),
        sa.Column("till_id", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name=op.f("pk_override_approvals")),
    )


def downgrade() -> None:
    op.drop_table("override_approvals")
