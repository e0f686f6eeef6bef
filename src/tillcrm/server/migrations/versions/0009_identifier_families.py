"""identifier families: a card identifies at most one customer among connected organizations

Identifiers were unique per organization they are kept under, and a connected child keeps its
own loyalty cards: so a parent's or a sibling's till could add a child's card to another
customer, and the card then named two people. `family_id` is the root of the organizations
that see each other's customers (a connected child's parent, else the organization itself),
and a partial unique index over (family_id, kind, value) for every kind but phone (a phone
number may be shared) lets the database refuse the second holder, however tills race.

A database that already holds one card for two customers of a family is not changed: the
upgrade stops and names the cards, for an administrator to decide whose each one is.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_A_CARD = sa.text("kind <> 'phone'")


def upgrade() -> None:
    with op.batch_alter_table("identifiers") as batch_op:
        batch_op.add_column(sa.Column("family_id", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE identifiers SET family_id = (SELECT coalesce(o.parent_id, o.id)"
        " FROM organizations o WHERE o.id = identifiers.org_id)"
    )
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT family_id, kind, value FROM identifiers WHERE kind <> 'phone'"
                " GROUP BY family_id, kind, value HAVING count(*) > 1 ORDER BY 1, 2, 3 LIMIT 20"
            )
        )
        .all()
    )
    if shared:
        cards = ", ".join(f"{family} {kind} {value}" for family, kind, value in shared)
        raise RuntimeError(
            f"cards held by more than one customer of an organization family: {cards}; "
            "remove all but one holder's row of each from `identifiers`, then upgrade again"
        )
    with op.batch_alter_table("identifiers") as batch_op:
        batch_op.alter_column("family_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_identifiers_family_id_organizations"),
            "organizations",
            ["family_id"],
            ["id"],
        )
    op.create_index(
        "uq_identifiers_family_card",
        "identifiers",
        ["family_id", "kind", "value"],
        unique=True,
        sqlite_where=NOT_A_CARD,
        postgresql_where=NOT_A_CARD,
    )


def downgrade() -> None:
    op.drop_index("uq_identifiers_family_card", "identifiers")
    with op.batch_alter_table("identifiers") as batch_op:
        batch_op.drop_constraint(op.f("fk_identifiers_family_id_organizations"), type_="foreignkey")
        batch_op.drop_column("family_id")
