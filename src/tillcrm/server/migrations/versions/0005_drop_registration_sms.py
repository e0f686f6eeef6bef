"""drop customer_registrations.marketing_sms: subscriptions live in customer_subscriptions

Since 0003 a marketing-SMS choice is kept per connected organization or organization unit in
`customer_subscriptions`, and a standard organization keeps it in the profile's flags. The
registration's own copy was still written but never read, so it could only drift.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-24 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("customer_registrations", "marketing_sms")


def downgrade() -> None:
    op.add_column(
        "customer_registrations",
        sa.Column("marketing_sms", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
