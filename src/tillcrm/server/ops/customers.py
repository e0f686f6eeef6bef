"""Customer appliers: create, profile update, identifiers, authorized users and suites.

A card identifies at most one customer in an organization family (`domain.family_id`): the
organizations whose tills see each other's customers. A card another customer holds, in the
till's scope or not, is refused with one answer (`card_refused`), so a refusal never tells a
till that a card exists where it cannot look; the family's unique index refuses the second of
two tills racing for one card the same way. Custom fields change by name (`FieldPatch`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from tillcrm.api import (
    AuthorizedUserAdd,
    AuthorizedUserRemove,
    CustomerCreatePayload,
    CustomerUpdatePayload,
    IdentifierBlock,
    MembershipUpdate,
    OpType,
    RegisterPayload,
    SuiteRemove,
)
from tillcrm.domain import (
    AuthorizedUser,
    CustomerFlags,
    CustomerProfile,
    CustomerScope,
    Identifier,
    IdentifierKind,
    IdentifierStatus,
    effective_scope,
    family_id,
)
from tillcrm.domain.org_fields import (
    FieldPatch,
    card_org_id,
    field_patch,
    patched_field_values,
    refused_field_names,
    split_field_values,
    subscription_scope_id,
)
from tillcrm.server.context import Till
from tillcrm.server.customer_rows import add_customer, identifier_rows, profile_columns
from tillcrm.server.customer_view import customer_out, own_org_ids
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
from tillcrm.server.org_config import shared_field_names, till_fields
from tillcrm.server.tables import (
    NOT_A_CARD,
    audit_log,
    authorized_users,
    customer_registrations,
    customer_subscriptions,
    customers,
    identifiers,
    promotion_categories,
    suites,
)

__all__ = [
    "add_authorized_user",
    "add_identifier",
    "block_identifier",
    "card_refused",
    "create_customer",
    "register_customer",
    "remove_authorized_user",
    "remove_suite",
    "update_customer",
    "update_membership",
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


def _check_identifiers_free(ctx: OpContext, org_id: str, cards: list[Identifier]) -> None:
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


def _insert_cards(ctx: OpContext, org_id: str, cards: list[Identifier]) -> None:
    """Give the op's customer `cards`, kept under `org_id`, once `_check_identifiers_free`
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
    registers it at the child, which is what makes it visible there; its private fields and
    loyalty cards stay with the child. An `independent` profile at a child is the child's own,
    which the parent never sees. A customer id that already exists in scope answers with that
    customer (a create made online and queued too); out of scope, like any id already used,
    never "not found" (which would tell the till the id is someone's it may not see).
    """
    exists = ctx.conn.execute(sa.select(customers.c.id).where(customers.c.id == ctx.entity_id))
    if exists.first() is not None:
        try:
            row = visible_customer(ctx)
        except Rejection:
            raise Rejection(f"customer id {ctx.entity_id} is already used") from None
        return Outcome({"version": row.version, "customer_number": row.customer_number})
    till = ctx.till
    org_id = till.parent.id if till.parent is not None and not payload.independent else till.org.id
    scope = effective_scope(till.org)
    brand_id = till.brand.id if scope is CustomerScope.BRAND else None
    _check_field_names(ctx, payload.profile.custom_fields)
    shared, private = _fields_after(ctx, org_id, {}, payload.profile.custom_fields)
    profile = payload.profile.model_copy(update={"custom_fields": shared})
    _check_profile(ctx, org_id, profile)
    cards = _cards_by_org(till, org_id, payload.identifiers)
    for kept_at, held in cards.items():
        _check_identifiers_free(ctx, kept_at, held)
    profile = add_customer(
        ctx.conn,
        customer_id=ctx.entity_id,
        org_id=org_id,
        family_id=family_id(till.org),
        brand_id=brand_id,
        profile=profile,
        cards=[],
        at=ctx.at,
    )
    if org_id != till.org.id:
        _register(ctx)
    _keep_private_fields(ctx, private)
    for kept_at, held in cards.items():
        _insert_cards(ctx, kept_at, held)
    _subscribe(ctx, payload.profile.flags.marketing_sms)
    for user in payload.authorized_users:
        _insert_authorized_user(ctx, user)
    _audit_change(ctx, org_id, OpType.CUSTOMER_CREATE, f"customer {profile.customer_number}")
    return Outcome({"version": 1, "customer_number": profile.customer_number})


@applies(OpType.CUSTOMER_UPDATE)
def update_customer(ctx: OpContext, payload: CustomerUpdatePayload) -> Outcome:
    """Change top-level profile fields, only against the version the editor started from.

    A stale `base_version` is a conflict carrying the CRM's current customer, so the till can
    show both and let the cashier redo the edit. At a connected child, custom and extended
    fields the parent does not define are the child's private ones: they are kept with the
    child and logged there, never at the parent. `custom_fields` changes by name
    (`FieldPatch`): fields it does not name are kept, those the editing organization cannot
    see among them, and a name no field visible here defines is refused. A marketing-SMS
    choice made in a connected organization or an organization unit is kept for that
    organization or unit only.
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
    changes = dict(payload.changes)
    held: dict[str, str] = row.profile.get("custom_fields", {})
    private: FieldPatch = {}
    try:
        if "custom_fields" in changes:
            patch = field_patch(changes["custom_fields"])
            _check_field_names(ctx, patch)
            changes["custom_fields"], private = _fields_after(ctx, row.org_id, held, patch)
        profile = CustomerProfile.model_validate({**row.profile, **changes})
    except ValidationError as exc:
        raise Rejection(_problems(exc)) from None
    changed = set(changes)
    if _keep_private_fields(ctx, private):
        _audit_change(ctx, ctx.till.org.id, OpType.CUSTOMER_UPDATE, "changed private fields")
    if profile.custom_fields == held:
        changed.discard("custom_fields")
    if "flags" in changed and _subscribe(ctx, profile.flags.marketing_sms):
        held = row.profile.get("flags", {})
        kept = held.get("marketing_sms", False)
        profile = profile.model_copy(
            update={"flags": profile.flags.model_copy(update={"marketing_sms": kept})}
        )
        _audit_change(ctx, ctx.till.org.id, OpType.CUSTOMER_UPDATE, "marketing SMS choice")
        if profile.flags.model_dump() == {**CustomerFlags().model_dump(), **held}:
            changed.discard("flags")
    _check_profile(ctx, row.org_id, profile)
    ctx.conn.execute(
        customers.update().where(customers.c.id == ctx.entity_id).values(**profile_columns(profile))
    )
    if row.mobile is not None and profile.mobile != row.mobile:
        _move_phone_identifier(ctx, row.org_id, row.mobile, profile.mobile)
    version = touch_customer(ctx, new_version=True)
    if changed:
        _audit_change(
            ctx, row.org_id, OpType.CUSTOMER_UPDATE, "changed " + ", ".join(sorted(changed))
        )
    return Outcome({"version": version})


@applies(OpType.CUSTOMER_REGISTER)
def register_customer(ctx: OpContext, payload: RegisterPayload) -> Outcome:
    """Register the connected parent's customer at the till's child organization.

    The customer then shows at the child with the parent's standard fields and parent-level
    fields; the child's label, status, private fields and subscription start its own.
    Registering again changes nothing.
    """
    parent = ctx.till.parent
    if parent is None:
        raise Rejection("only a till of a connected child organization registers a customer")
    row = ctx.conn.execute(
        sa.select(customers.c.id, customers.c.version).where(
            customers.c.id == ctx.entity_id, customers.c.org_id == parent.id
        )
    ).one_or_none()
    if row is None:
        raise Rejection("no such customer at the parent organization")
    if _registered(ctx):
        return Outcome({"version": row.version})
    _register(ctx)
    _subscribe(ctx, payload.marketing_sms)
    _audit_change(ctx, ctx.till.org.id, OpType.CUSTOMER_REGISTER, "registered here")
    return Outcome({"version": touch_customer(ctx, new_version=False)})


@applies(OpType.MEMBERSHIP_UPDATE)
def update_membership(ctx: OpContext, payload: MembershipUpdate) -> Outcome:
    """Change this organization's own label or status for the customer, or its subscription.

    Each connected organization keeps its own; a change here leaves the others' alone.
    """
    row = visible_customer(ctx)
    values = payload.model_dump(include={"label", "status"}, exclude_none=True)
    if values:
        if not _registered(ctx):
            _register(ctx)
        ctx.conn.execute(
            customer_registrations.update()
            .where(
                customer_registrations.c.customer_id == ctx.entity_id,
                customer_registrations.c.org_id == ctx.till.org.id,
            )
            .values(**values)
        )
    new_version = False
    if payload.marketing_sms is not None and not _subscribe(ctx, payload.marketing_sms):
        flags = {**row.profile.get("flags", {}), "marketing_sms": payload.marketing_sms}
        profile = CustomerProfile.model_validate({**row.profile, "flags": flags})
        ctx.conn.execute(
            customers.update()
            .where(customers.c.id == ctx.entity_id)
            .values(**profile_columns(profile))
        )
        new_version = True
    changed = ", ".join(sorted(payload.model_dump(exclude_none=True)))
    _audit_change(ctx, ctx.till.org.id, OpType.MEMBERSHIP_UPDATE, f"changed {changed}")
    return Outcome({"version": touch_customer(ctx, new_version=new_version)})


# -- what each organization keeps of its own -----------------------------------------------------


def _check_field_names(ctx: OpContext, values: FieldPatch | dict[str, str]) -> None:
    """Refuse field values named like no field the till's organization sees, listing those
    it does (`domain.org_fields.refused_field_names`)."""
    if values:
        refused = refused_field_names(values, till_fields(ctx.conn, ctx.till))
        if refused is not None:
            raise Rejection(refused)


def _fields_after(
    ctx: OpContext, owner_org_id: str, held: dict[str, str], patch: FieldPatch | dict[str, str]
) -> tuple[dict[str, str], FieldPatch]:
    """The owner's field values `held` after `patch`, and the part of `patch` the till's
    organization keeps privately (`_keep_private_fields`).

    Only a connected child editing its parent's customer keeps any privately: the fields its
    parent defines, or already holds a value for, are the parent's.
    """
    parent = ctx.till.parent
    if parent is None or owner_org_id != parent.id:
        return patched_field_values(held, patch), {}
    names = shared_field_names(ctx.conn, parent.id) | set(held)
    shared, private = split_field_values(patch, names)
    return patched_field_values(held, shared), private


def _keep_private_fields(ctx: OpContext, patch: FieldPatch) -> bool:
    """Apply `patch` to the till organization's private field values; True when they
    changed."""
    if not patch:
        return False
    mine = sa.and_(
        customer_registrations.c.customer_id == ctx.entity_id,
        customer_registrations.c.org_id == ctx.till.org.id,
    )
    held = ctx.conn.execute(
        sa.select(customer_registrations.c.custom_fields).where(mine)
    ).scalar_one_or_none()
    if held is None:
        return False
    after = patched_field_values(held, patch)
    if after == held:
        return False
    ctx.conn.execute(customer_registrations.update().where(mine).values(custom_fields=after))
    return True


def _registered(ctx: OpContext) -> bool:
    """The customer has a registration row at the till's organization."""
    return (
        ctx.conn.execute(
            sa.select(customer_registrations.c.org_id).where(
                customer_registrations.c.customer_id == ctx.entity_id,
                customer_registrations.c.org_id == ctx.till.org.id,
            )
        ).first()
        is not None
    )


def _register(ctx: OpContext) -> None:
    """Register the op's customer at the till's organization (its own label, status, fields)."""
    ctx.conn.execute(
        customer_registrations.insert().values(
            customer_id=ctx.entity_id,
            org_id=ctx.till.org.id,
            custom_fields={},
            registered_at=ctx.at,
        )
    )


def _subscribe(ctx: OpContext, marketing_sms: bool) -> bool:
    """Keep the marketing-SMS choice for the till's organization or unit, where the
    framework keeps one per organization or unit; False when the profile flag holds it."""
    scope_id = subscription_scope_id(ctx.till.org, ctx.till.brand.id)
    if scope_id is None:
        return False
    ctx.conn.execute(
        customer_subscriptions.delete().where(
            customer_subscriptions.c.customer_id == ctx.entity_id,
            customer_subscriptions.c.scope_id == scope_id,
        )
    )
    ctx.conn.execute(
        customer_subscriptions.insert().values(
            customer_id=ctx.entity_id,
            scope_id=scope_id,
            marketing_sms=marketing_sms,
            updated_at=ctx.at,
        )
    )
    return True


def _cards_by_org(
    till: Till, owner_org_id: str, cards: list[Identifier]
) -> dict[str, list[Identifier]]:
    """The new customer's identifiers by the organization each is kept under."""
    by_org: dict[str, list[Identifier]] = defaultdict(list)
    for card in cards:
        by_org[card_org_id(card.kind, till.org, owner_org_id)].append(card)
    return by_org


def _audit_change(ctx: OpContext, log_org_id: str, action: OpType, detail: str) -> None:
    """An audit entry in `log_org_id`'s log, naming the organization and till the change came
    from and its change request (the op id), so a parent traces changes to shared fields."""
    ctx.conn.execute(
        audit_log.insert().values(
            at=ctx.at,
            org_id=log_org_id,
            origin_org_id=ctx.till.org.id,
            till_id=ctx.till.id,
            operator_id=ctx.operator_id,
            action=action.value,
            customer_id=ctx.entity_id,
            op_id=ctx.op_id,
            change_request_id=str(ctx.op_id),
            detail=detail,
        )
    )


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
    """Give the customer a card, tag or phone identifier (again active if it was blocked,
    where it is kept); one someone else holds anywhere in the family is refused."""
    row = visible_customer(ctx)
    org_id = card_org_id(payload.kind, ctx.till.org, row.org_id)
    holder = _holder(ctx, org_id, payload)
    if not _free_for(ctx, holder):
        raise card_refused(payload)
    if holder is None:
        _insert_cards(ctx, org_id, [payload])
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


@applies(OpType.AUTHORIZED_USER_ADD)
def add_authorized_user(ctx: OpContext, payload: AuthorizedUserAdd) -> Outcome:
    """Allow a person to act for the customer."""
    visible_customer(ctx)
    _insert_authorized_user(ctx, payload.user)
    return Outcome({"version": touch_customer(ctx, new_version=False)})


@applies(OpType.AUTHORIZED_USER_REMOVE)
def remove_authorized_user(ctx: OpContext, payload: AuthorizedUserRemove) -> Outcome:
    """Withdraw a person's authority to act for the customer."""
    return _remove_owned(ctx, authorized_users, payload.user_id, "authorized user")


@applies(OpType.SUITE_REMOVE)
def remove_suite(ctx: OpContext, payload: SuiteRemove) -> Outcome:
    """A suite no longer assigned to the customer (the seeds' "options to delete"); audited,
    since the booking is gone from the CRM with it."""
    outcome = _remove_owned(ctx, suites, payload.suite_id, "suite")
    audit(ctx, OpType.SUITE_REMOVE.value, f"suite {payload.suite_id}")
    return outcome


def _remove_owned(ctx: OpContext, table: sa.Table, row_id: UUID, what: str) -> Outcome:
    """Delete the customer's row `row_id` of `table`; a rejection naming `what` when the
    customer (as this till may see them) has no such row."""
    visible_customer(ctx)
    removed = ctx.conn.execute(
        table.delete().where(table.c.id == row_id, table.c.customer_id == ctx.entity_id)
    ).rowcount
    if not removed:
        raise Rejection(f"{what} {row_id} not found")
    return Outcome({"version": touch_customer(ctx, new_version=False)})
