"""Identifier appliers and rules: a card, tag or phone identifier added, blocked or moved.

A card identifies at most one customer in an organization family (`domain.family_id`): the
organizations whose tills see each other's customers. A card another customer holds, in the
till's scope or not, is refused with one answer (`card_refused`), so a refusal never tells a
till that a card exists where it cannot look; the family's unique index refuses the second of
two tills racing for one card the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from tillcrm.api import (
    IdentifierBlock,
    OpType,
)
from tillcrm.domain import (
    Identifier,
    IdentifierKind,
    IdentifierStatus,
    family_id,
)
from tillcrm.domain.org_fields import (
    card_org_id,
)
from tillcrm.server.context import Till
from tillcrm.server.customer_rows import identifier_rows
from tillcrm.server.customer_view import own_org_ids
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.limits import audit
from tillcrm.server.ops.registry import (
    OpContext,
    Outcome,
    applies,
    touch_customer,
    visible_customer,
)
from tillcrm.server.tables import (
    NOT_A_CARD,
    identifiers,
)

__all__ = [
    "add_identifier",
    "block_identifier",
    "card_refused",
    "cards_by_org",
    "check_identifiers_free",
    "insert_cards",
    "move_phone_identifier",
]


def card_refused(card: Identifier) -> Rejection:
    """The one answer for an identifier that cannot be added, whoever holds it and wherever:
    a till learns nothing of a customer it may not see from it."""
    return Rejection(f"{card.kind.value} {card.value} cannot be added to this customer")


def _holder(ctx: OpContext, org_id: str, card: Identifier) -> Row[Any, Any] | None:
    """Who holds `card` where it would be kept under `org_id`, and where it is kept: for a
    card, anywhere in the till's organization family; a phone, under `org_id` only (one
    number may reach several people)."""
    if card.kind is IdentifierKind.PHONE:
        where = identifiers.c.org_id == org_id
    else:  # the index's own condition, written out, lets the planner use the partial index
        where = sa.and_(identifiers.c.family_id == family_id(ctx.till.org), NOT_A_CARD)
    return ctx.conn.execute(
        sa.select(identifiers.c.customer_id, identifiers.c.org_id).where(
            where, identifiers.c.kind == card.kind.value, identifiers.c.value == card.value
        )
    ).one_or_none()


def _free_for(ctx: OpContext, holder: Row[Any, Any] | None) -> bool:
    """A card with this `_holder` may be the op's customer's: nobody holds it, or they do,
    kept where the till sees their cards (not a sibling child's card it cannot see)."""
    return holder is None or (
        holder.customer_id == ctx.entity_id and holder.org_id in own_org_ids(ctx.till)
    )


def check_identifiers_free(ctx: OpContext, org_id: str, cards: list[Identifier]) -> None:
    """Refuse an identifier listed twice, or one that is not `_free_for` the op's customer
    (`card_refused`)."""
    seen: set[tuple[str, str]] = set()
    for card in cards:
        key = (card.kind.value, card.value)
        if key in seen:
            raise Rejection(f"{card.kind.value} {card.value} is listed twice")
        seen.add(key)
        if not _free_for(ctx, _holder(ctx, org_id, card)):
            raise card_refused(card)


def insert_cards(ctx: OpContext, org_id: str, cards: list[Identifier]) -> None:
    """Give the op's customer `cards`, kept under `org_id`, once `check_identifiers_free`
    found them free. An op of another till that got a card in between the check and this
    insert holds it now: the family's unique index refuses this one (on PostgreSQL as soon
    as that op commits) and this op is refused as if the check had seen it. One statement
    per card (a customer has a few) says which card it was."""
    rows = identifier_rows(
        cards, customer_id=ctx.entity_id, org_id=org_id, family_id=family_id(ctx.till.org)
    )
    for card, row in zip(cards, rows, strict=True):
        try:
            ctx.conn.execute(identifiers.insert(), row)
        except IntegrityError:
            raise card_refused(card) from None


def cards_by_org(
    till: Till, owner_org_id: str, cards: list[Identifier]
) -> dict[str, list[Identifier]]:
    """The new customer's identifiers by the organization each is kept under."""
    by_org: dict[str, list[Identifier]] = defaultdict(list)
    for card in cards:
        by_org[card_org_id(card.kind, till.org, owner_org_id)].append(card)
    return by_org


def move_phone_identifier(ctx: OpContext, org_id: str, old: str, new: str | None) -> None:
    """The phone identifier of the customer's old mobile follows the new number (or goes,
    when the mobile is cleared or the new number is already theirs), so the old number stops
    identifying them."""

    def phone(value: str) -> sa.ColumnElement[bool]:
        kind = identifiers.c.kind == IdentifierKind.PHONE.value
        return sa.and_(identifiers.c.org_id == org_id, kind, identifiers.c.value == value)

    held = sa.and_(phone(old), identifiers.c.customer_id == ctx.entity_id)
    if ctx.conn.execute(sa.select(identifiers.c.value).where(held)).first() is None:
        return
    if new is not None:
        check_identifiers_free(ctx, org_id, [Identifier(kind=IdentifierKind.PHONE, value=new)])
    if new is None or ctx.conn.execute(sa.select(identifiers.c.value).where(phone(new))).first():
        ctx.conn.execute(identifiers.delete().where(held))
    else:
        ctx.conn.execute(identifiers.update().where(held).values(value=new))


@applies(OpType.IDENTIFIER_ADD)
def add_identifier(ctx: OpContext, payload: Identifier) -> Outcome:
    """Give the customer a card, tag or phone identifier (again active if it was blocked,
    where it is kept); one someone else holds anywhere in the family is refused."""
    row = visible_customer(ctx)
    org_id = card_org_id(payload.kind, ctx.till.org, row.org_id)
    holder = _holder(ctx, org_id, payload)
    if not _free_for(ctx, holder):
        raise card_refused(payload)
    if holder is None:
        insert_cards(ctx, org_id, [payload])
    else:
        ctx.conn.execute(
            identifiers.update()
            .where(
                identifiers.c.org_id == holder.org_id,
                identifiers.c.kind == payload.kind.value,
                identifiers.c.value == payload.value,
            )
            .values(status=payload.status.value)
        )
    return Outcome({"version": touch_customer(ctx, new_version=False)})


@applies(OpType.IDENTIFIER_BLOCK)
def block_identifier(ctx: OpContext, payload: IdentifierBlock) -> Outcome:
    """A lost card stops identifying the customer; it stays on record, blocked."""
    visible_customer(ctx)
    blocked = ctx.conn.execute(
        identifiers.update()
        .where(
            identifiers.c.org_id.in_(own_org_ids(ctx.till)),
            identifiers.c.kind == payload.kind.value,
            identifiers.c.value == payload.value,
            identifiers.c.customer_id == ctx.entity_id,
        )
        .values(status=IdentifierStatus.BLOCKED.value)
    ).rowcount
    if not blocked:
        raise Rejection(f"the customer has no {payload.kind.value} {payload.value}")
    audit(ctx, OpType.IDENTIFIER_BLOCK.value, f"{payload.kind.value} {payload.value}")
    return Outcome({"version": touch_customer(ctx, new_version=False)})
