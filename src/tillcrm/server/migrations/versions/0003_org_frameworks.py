"""organization frameworks: field definitions, settings, per-scope subscriptions, audit origin

Connected organizations and organization units keep some things per organization or per unit:
extended and custom field definitions (a parent's shared, a child's private), configuration
(a parent's overriding a child's, a unit's overriding its organization's), and marketing-SMS
subscriptions. An audit entry of a change to a shared field, logged at the parent, names the
connected organization the change came from.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "field_definitions",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=120), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_field_definitions_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("org_id", "name", name=op.f("pk_field_definitions")),
    )
    op.create_table(
        "org_settings",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "key", name=op.f("pk_org_settings")),
    )
    op.create_table(
        "customer_subscriptions",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("marketing_sms", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_subscriptions_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", "scope_id", name=op.f("pk_customer_subscriptions")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_org_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("origin_org_id")
    op.drop_table("customer_subscriptions")
    op.drop_table("org_settings")
    op.drop_table("field_definitions")
