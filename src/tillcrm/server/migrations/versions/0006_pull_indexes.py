"""pull indexes: a brand's customers by change, and a customer's cards in order

A brand-scoped till's pull pages through its brand's customers by `change_seq`. With only
(org_id, change_seq), PostgreSQL without statistics (a large load not yet analyzed) chose
each page by scanning and sorting every customer of the organization after the cursor: about
a second a page at 1,000,000 customers, so a whole pull grew with the square of the scope.
(org_id, brand_id, change_seq) is the page's own order.

A pulled customer's cards are listed by kind and value. The customer index held only the
customer, so SQLite sorted each customer's cards in a temporary B-tree and read the table
for the rest; (customer_id, kind, value, org_id, status) is in that order and holds every
column the pull reads. It replaces the customer-only index, which it serves as well.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 04:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_customers_org_brand_change_seq", "customers", ["org_id", "brand_id", "change_seq"]
    )
    op.create_index(
        "ix_identifiers_customer_cards",
        "identifiers",
        ["customer_id", "kind", "value", "org_id", "status"],
    )
    op.drop_index("ix_identifiers_customer", "identifiers")


def downgrade() -> None:
    op.create_index("ix_identifiers_customer", "identifiers", ["customer_id"])
    op.drop_index("ix_identifiers_customer_cards", "identifiers")
    op.drop_index("ix_customers_org_brand_change_seq", "customers")
