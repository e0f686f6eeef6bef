"""Customer appliers: create, profile update, identifiers and authorized users.

Identifiers are unique within the organization that owns the customer: a card already used by
another customer is refused by name, before the database's key would refuse it less kindly.
"""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import ValidationError

from tillcrm.api import (
    AuthorizedUserAdd,
    AuthorizedUserRemove,
    CustomerCreatePayload,
    CustomerUpdatePayload,
    IdentifierBlock,
    OpType,
)
from tillcrm.domain import (
    AuthorizedUser,
    CustomerProfile,
    CustomerScope,
    Identifier,
    IdentifierKind,
    IdentifierStatus,
    effective_scope,
)
from tillcrm.server.customer_rows import add_customer, profile_columns
from tillcrm.server.customer_view import customer_out
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.limits import audit
from tillcrm.server.ops.registry import (
    Conflict,
    OpContext,
    Outcome,
    applies,
    touch_customer,
    visible_customer,
)
from tillcrm.server.tables import (
    authorized_users,
    customer_registrations,
    customers,
    identifiers,
    promotion_categories,
)

__all__ = [
    "add_authorized_user",
    "add_identifier",
    "block_identifier",
    "create_customer",
    "remove_authorized_user",
    "update_customer",
]


def _problems(error: ValidationError) -> str:
    """A pydantic error as `invalid <field>: <message>` lines, joined."""
    return "; ".join(
        f"invalid {'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors()
    )


def _check_profile(ctx: OpContext, org_id: str, profile: CustomerProfile) -> None:
    """Refuse a customer number another customer of the org has, or an unknown category."""
    if profile.customer_number is not None:
        holder = ctx.conn.execute(
            sa.select(customers.c.id).where(
                customers.c.org_id == org_id,
                customers.c.customer_number == profile.customer_number,
                customers.c.id != ctx.entity_id,
            )
        ).first()
        if holder is not None:
            raise Rejection(f"customer_number {profile.customer_number} is already used")
    if profile.promotion_category_id is not None:
        known = ctx.conn.execute(
            sa.select(promotion_categories.c.id).where(
                promotion_categories.c.id == profile.promotion_category_id,
                promotion_categories.c.org_id == org_id,
            )
        ).first()
        if known is None:
            raise Rejection(f"promotion_category_id {profile.promotion_category_id} is unknown")


def _check_identifiers_free(ctx: OpContext, org_id: str, cards: list[Identifier]) -> None:
    """Refuse an identifier another customer of the organization already holds."""
    seen: set[tuple[str, str]] = set()
    for card in cards:
        key = (card.kind.value, card.value)
        if key in seen:
            raise Rejection(f"{card.kind.value} {card.value} is listed twice")
        seen.add(key)
        holder = ctx.conn.execute(
            sa.select(identifiers.c.customer_id).where(
                identifiers.c.org_id == org_id,
                identifiers.c.kind == card.kind.value,
                identifiers.c.value == card.value,
            )
        ).scalar_one_or_none()
        if holder is not None and holder != ctx.entity_id:
            raise Rejection(f"{card.kind.value} {card.value} is already used by another customer")


def _insert_authorized_user(ctx: OpContext, user: AuthorizedUser) -> None:
    """Authorize a person for the op's customer; an id already in use is refused."""
    taken = ctx.conn.execute(
        sa.select(authorized_users.c.id).where(authorized_users.c.id == user.id)
    ).first()
    if taken is not None:
        raise Rejection(f"authorized user {user.id} already exists")
    ctx.conn.execute(
        authorized_users.insert().values(customer_id=ctx.entity_id, **user.model_dump())
    )


@applies(OpType.CUSTOMER_CREATE)
def create_customer(ctx: OpContext, payload: CustomerCreatePayload) -> Outcome:
    """A new customer owned where the till's scope puts it.

    Brand scope: the till's organization and brand. Organization scope: the organization, no
    brand. A child of a connected organization creates the one identity at the parent and
    registers it at the child, which is what makes it visible there. A customer id that already
    exists in scope answers with that customer (a create made online and queued too).
    """
    exists = ctx.conn.execute(sa.select(customers.c.id).where(customers.c.id == ctx.entity_id))
    if exists.first() is not None:
        row = visible_customer(ctx)
        return Outcome({"version": row.version, "customer_number": row.customer_number})
    till = ctx.till
    org_id = till.parent.id if till.parent is not None else till.org.id
    scope = effective_scope(till.org)
    brand_id = till.brand.id if scope is CustomerScope.BRAND else None
    _check_profile(ctx, org_id, payload.profile)
    _check_identifiers_free(ctx, org_id, payload.identifiers)
    profile = add_customer(
        ctx.conn,
        customer_id=ctx.entity_id,
        org_id=org_id,
        brand_id=brand_id,
        profile=payload.profile,
        cards=payload.identifiers,
        at=ctx.at,
    )
    if till.parent is not None:
        ctx.conn.execute(
            customer_registrations.insert().values(
                customer_id=ctx.entity_id,
                org_id=till.org.id,
                marketing_sms=profile.flags.marketing_sms,
                custom_fields={},
                registered_at=ctx.at,
            )
        )
    for user in payload.authorized_users:
        _insert_authorized_user(ctx, user)
    audit(ctx, OpType.CUSTOMER_CREATE.value, f"customer {profile.customer_number}")
    return Outcome({"version": 1, "customer_number": profile.customer_number})


@applies(OpType.CUSTOMER_UPDATE)
def update_customer(ctx: OpContext, payload: CustomerUpdatePayload) -> Outcome:
    """Change top-level profile fields, only against the version the editor started from.

    A stale `base_version` is a conflict carrying the CRM's current customer, so the till can
    show both and let the cashier redo the edit.
    """
    row = visible_customer(ctx)
    if ctx.base_version is None:
        raise Rejection("customer_update needs base_version")
    if ctx.base_version != row.version:
        current = customer_out(ctx.conn, ctx.till, row).model_dump(mode="json")
        raise Conflict(
            f"the customer changed: version {row.version}, edit made on {ctx.base_version}",
            current,
        )
    unknown = sorted(set(payload.changes) - set(CustomerProfile.model_fields))
    if unknown:
        raise Rejection(f"unknown profile field: {', '.join(unknown)}")
    try:
        profile = CustomerProfile.model_validate({**row.profile, **payload.changes})
    except ValidationError as exc:
        raise Rejection(_problems(exc)) from None
    _check_profile(ctx, row.org_id, profile)
    ctx.conn.execute(
        customers.update().where(customers.c.id == ctx.entity_id).values(**profile_columns(profile))
    )
    if row.mobile is not None and profile.mobile != row.mobile:
        _move_phone_identifier(ctx, row.org_id, row.mobile, profile.mobile)
    version = touch_customer(ctx, new_version=True)
    audit(ctx, OpType.CUSTOMER_UPDATE.value, "changed " + ", ".join(sorted(payload.changes)))
    return Outcome({"version": version})


def _move_phone_identifier(ctx: OpContext, org_id: str, old: str, new: str | None) -> None:
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
        _check_identifiers_free(ctx, org_id, [Identifier(kind=IdentifierKind.PHONE, value=new)])
    if new is None or ctx.conn.execute(sa.select(identifiers.c.value).where(phone(new))).first():
        ctx.conn.execute(identifiers.delete().where(held))
    else:
        ctx.conn.execute(identifiers.update().where(held).values(value=new))


@applies(OpType.IDENTIFIER_ADD)
def add_identifier(ctx: OpContext, payload: Identifier) -> Outcome:
    """Give the customer a card, tag or phone identifier (again active if it was blocked)."""
    row = visible_customer(ctx)
    _check_identifiers_free(ctx, row.org_id, [payload])
    updated = ctx.conn.execute(
        identifiers.update()
        .where(
            identifiers.c.org_id == row.org_id,
            identifiers.c.kind == payload.kind.value,
            identifiers.c.value == payload.value,
        )
        .values(status=payload.status.value)
    ).rowcount
    if not updated:
        ctx.conn.execute(
            identifiers.insert().values(
                org_id=row.org_id,
                kind=payload.kind.value,
                value=payload.value,
                customer_id=ctx.entity_id,
                status=payload.status.value,
            )
        )
    return Outcome({"version": touch_customer(ctx, new_version=False)})


@applies(OpType.IDENTIFIER_BLOCK)
def block_identifier(ctx: OpContext, payload: IdentifierBlock) -> Outcome:
    """A lost card stops identifying the customer; it stays on record, blocked."""
    row = visible_customer(ctx)
    blocked = ctx.conn.execute(
        identifiers.update()
        .where(
            identifiers.c.org_id == row.org_id,
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


@applies(OpType.AUTHORIZED_USER_ADD)
def add_authorized_user(ctx: OpContext, payload: AuthorizedUserAdd) -> Outcome:
    """Allow a person to act for the customer."""
    visible_customer(ctx)
    _insert_authorized_user(ctx, payload.user)
    return Outcome({"version": touch_customer(ctx, new_version=False)})


@applies(OpType.AUTHORIZED_USER_REMOVE)
def remove_authorized_user(ctx: OpContext, payload: AuthorizedUserRemove) -> Outcome:
    """Withdraw a person's authority to act for the customer."""
    visible_customer(ctx)
    removed = ctx.conn.execute(
        authorized_users.delete().where(
            authorized_users.c.id == payload.user_id,
            authorized_users.c.customer_id == ctx.entity_id,
        )
    ).rowcount
    if not removed:
        raise Rejection(f"authorized user {payload.user_id} not found")
    return Outcome({"version": touch_customer(ctx, new_version=False)})
