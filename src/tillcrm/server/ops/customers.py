"""Customer appliers: create, profile update, authorized users and suites.

A new customer's identifiers and a mobile's phone identifier are kept by the rules of
`customer_identifiers`; what a connected organization keeps of its own (registration, private
fields, subscription) by those of `memberships`. Custom fields change by name (`FieldPatch`).
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from pydantic import ValidationError

from tillcrm.api import (
    AuthorizedUserAdd,
    AuthorizedUserRemove,
    CustomerCreatePayload,
    CustomerUpdatePayload,
    OpType,
    SuiteRemove,
)
from tillcrm.domain import (
    AuthorizedUser,
    CustomerFlags,
    CustomerProfile,
    CustomerScope,
    effective_scope,
    family_id,
)
from tillcrm.domain.org_fields import (
    FieldPatch,
    field_patch,
)
from tillcrm.server.customer_rows import add_customer, profile_columns
from tillcrm.server.customer_view import customer_out
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.customer_identifiers import (
    cards_by_org,
    check_identifiers_free,
    insert_cards,
    move_phone_identifier,
)
from tillcrm.server.ops.limits import audit
from tillcrm.server.ops.memberships import (
    audit_change,
    check_field_names,
    fields_after,
    keep_private_fields,
    register,
    subscribe,
)
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
    customers,
    promotion_categories,
    suites,
)

__all__ = [
    "add_authorized_user",
    "create_customer",
    "remove_authorized_user",
    "remove_suite",
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
    check_field_names(ctx, payload.profile.custom_fields)
    shared, private = fields_after(ctx, org_id, {}, payload.profile.custom_fields)
    profile = payload.profile.model_copy(update={"custom_fields": shared})
    _check_profile(ctx, org_id, profile)
    cards = cards_by_org(till, org_id, payload.identifiers)
    for kept_at, held in cards.items():
        check_identifiers_free(ctx, kept_at, held)
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
        register(ctx)
    keep_private_fields(ctx, private)
    for kept_at, held in cards.items():
        insert_cards(ctx, kept_at, held)
    subscribe(ctx, payload.profile.flags.marketing_sms)
    for user in payload.authorized_users:
        _insert_authorized_user(ctx, user)
    audit_change(ctx, org_id, OpType.CUSTOMER_CREATE, f"customer {profile.customer_number}")
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
            check_field_names(ctx, patch)
            changes["custom_fields"], private = fields_after(ctx, row.org_id, held, patch)
        profile = CustomerProfile.model_validate({**row.profile, **changes})
    except ValidationError as exc:
        raise Rejection(_problems(exc)) from None
    changed = set(changes)
    if keep_private_fields(ctx, private):
        audit_change(ctx, ctx.till.org.id, OpType.CUSTOMER_UPDATE, "changed private fields")
    if profile.custom_fields == held:
        changed.discard("custom_fields")
    if "flags" in changed and subscribe(ctx, profile.flags.marketing_sms):
        held = row.profile.get("flags", {})
        kept = held.get("marketing_sms", False)
        profile = profile.model_copy(
            update={"flags": profile.flags.model_copy(update={"marketing_sms": kept})}
        )
        audit_change(ctx, ctx.till.org.id, OpType.CUSTOMER_UPDATE, "marketing SMS choice")
        if profile.flags.model_dump() == {**CustomerFlags().model_dump(), **held}:
            changed.discard("flags")
    _check_profile(ctx, row.org_id, profile)
    ctx.conn.execute(
        customers.update().where(customers.c.id == ctx.entity_id).values(**profile_columns(profile))
    )
    if row.mobile is not None and profile.mobile != row.mobile:
        move_phone_identifier(ctx, row.org_id, row.mobile, profile.mobile)
    version = touch_customer(ctx, new_version=True)
    if changed:
        audit_change(
            ctx, row.org_id, OpType.CUSTOMER_UPDATE, "changed " + ", ".join(sorted(changed))
        )
    return Outcome({"version": version})


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
