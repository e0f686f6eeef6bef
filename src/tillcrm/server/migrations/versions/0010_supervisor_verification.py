"""supervisor verification by the CRM, wrong-PIN lockout, offline overrides to review

An override's supervisor was checked only on the till, against the PIN hashes it caches: a
till could claim any supervisor approved. Now a till online asks the CRM to check the PIN or
badge (`POST /v1/operators/verify`) and gets a single-use `supervisor_verifications` row to
put on the approval. Wrong tries count on the operator's row (`wrong_pins`, `locked_until`),
so a lockout outlives a restart, and a till's wrong tries are counted from the audit log by
`ix_audit_log_till` (a till may guess only so often, whichever operators it names). An
approval without a verification (given offline) is still accepted, recorded with who
approved it and why, and flagged `needs_review`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch_op:
        batch_op.add_column(
            sa.Column("wrong_pins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("override_approvals") as batch_op:
        batch_op.add_column(sa.Column("supervisor_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("cashier_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("needs_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_audit_log_till", "audit_log", ["till_id", "at"])
    op.create_index(
        "ix_override_approvals_review", "override_approvals", ["needs_review", "used_at"]
    )
    op.create_table(
        "supervisor_verifications",
        sa.Column("verification_id", sa.Uuid(), nullable=False),
        sa.Column("till_id", sa.String(length=64), nullable=False),
        sa.Column("supervisor_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("op_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["operators.id"],
            name=op.f("fk_supervisor_verifications_supervisor_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["till_id"], ["tills.id"], name=op.f("fk_supervisor_verifications_till_id_tills")
        ),
        sa.PrimaryKeyConstraint("verification_id", name=op.f("pk_supervisor_verifications")),
    )


def downgrade() -> None:
    op.drop_table("supervisor_verifications")
    op.drop_index("ix_override_approvals_review", "override_approvals")
    op.drop_index("ix_audit_log_till", "audit_log")
    with op.batch_alter_table("override_approvals") as batch_op:
        batch_op.drop_column("needs_review")
        batch_op.drop_column("reason")
        batch_op.drop_column("cashier_id")
        batch_op.drop_column("supervisor_id")
    with op.batch_alter_table("operators") as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("wrong_pins")
