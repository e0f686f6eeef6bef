"""operator stores: an operator may be limited to some stores of the organization

A till receives the PIN hashes of the operators who may work at its store only, and the CRM
accepts ops only from them. An operator with no rows here may work at every store the
organization reaches (as before); with rows, only at those stores.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operator_stores",
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_stores_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_operator_stores_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("operator_id", "store_id", name=op.f("pk_operator_stores")),
    )


def downgrade() -> None:
    op.drop_table("operator_stores")
