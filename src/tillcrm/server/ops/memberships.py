"""Membership appliers and rules: what each connected organization keeps of its own.

A child organization registers its parent's customer (its own label and status), keeps the
custom fields its parent does not define privately, and may keep its own marketing-SMS choice;
a change is logged in the owner's audit log naming where it came from, so a parent traces
changes to shared fields.
"""

from __future__ import annotations

import sqlalchemy as sa

from tillcrm.api import (
    MembershipUpdate,
    OpType,
    RegisterPayload,
)
from tillcrm.domain import (
    CustomerProfile,
)
from tillcrm.domain.org_fields import (
    FieldPatch,
    patched_field_values,
    refused_field_names,
    split_field_values,
    subscription_scope_id,
)
from tillcrm.server.customer_rows import profile_columns
from tillcrm.server.errors import Rejection
from tillcrm.server.ops.registry import (
    OpContext,
    Outcome,
    applies,
    touch_customer,
    visible_customer,
)
from tillcrm.server.org_config import shared_field_names, till_fields
from tillcrm.server.tables import (
    audit_log,
    customer_registrations,
    customer_subscriptions,
    customers,
)

__all__ = [
    "audit_change",
    "check_field_names",
    "fields_after",
    "keep_private_fields",
    "register",
    "register_customer",
    "subscribe",
    "update_membership",
]


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
    register(ctx)
    subscribe(ctx, payload.marketing_sms)
    audit_change(ctx, ctx.till.org.id, OpType.CUSTOMER_REGISTER, "registered here")
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
            register(ctx)
        ctx.conn.execute(
            customer_registrations.update()
            .where(
                customer_registrations.c.customer_id == ctx.entity_id,
                customer_registrations.c.org_id == ctx.till.org.id,
            )
            .values(**values)
        )
    new_version = False
    if payload.marketing_sms is not None and not subscribe(ctx, payload.marketing_sms):
        flags = {**row.profile.get("flags", {}), "marketing_sms": payload.marketing_sms}
        profile = CustomerProfile.model_validate({**row.profile, "flags": flags})
        ctx.conn.execute(
            customers.update()
            .where(customers.c.id == ctx.entity_id)
            .values(**profile_columns(profile))
        )
        new_version = True
    changed = ", ".join(sorted(payload.model_dump(exclude_none=True)))
    audit_change(ctx, ctx.till.org.id, OpType.MEMBERSHIP_UPDATE, f"changed {changed}")
    return Outcome({"version": touch_customer(ctx, new_version=new_version)})


def check_field_names(ctx: OpContext, values: FieldPatch | dict[str, str]) -> None:
    """Refuse field values named like no field the till's organization sees, listing those
    it does (`domain.org_fields.refused_field_names`)."""
    if values:
        refused = refused_field_names(values, till_fields(ctx.conn, ctx.till))
        if refused is not None:
            raise Rejection(refused)


def fields_after(
    ctx: OpContext, owner_org_id: str, held: dict[str, str], patch: FieldPatch | dict[str, str]
) -> tuple[dict[str, str], FieldPatch]:
    """The owner's field values `held` after `patch`, and the part of `patch` the till's
    organization keeps privately (`keep_private_fields`).

    Only a connected child editing its parent's customer keeps any privately: the fields its
    parent defines, or already holds a value for, are the parent's.
    """
    parent = ctx.till.parent
    if parent is None or owner_org_id != parent.id:
        return patched_field_values(held, patch), {}
    names = shared_field_names(ctx.conn, parent.id) | set(held)
    shared, private = split_field_values(patch, names)
    return patched_field_values(held, shared), private


def keep_private_fields(ctx: OpContext, patch: FieldPatch) -> bool:
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


def register(ctx: OpContext) -> None:
    """Register the op's customer at the till's organization (its own label, status, fields)."""
    ctx.conn.execute(
        customer_registrations.insert().values(
            customer_id=ctx.entity_id,
            org_id=ctx.till.org.id,
            custom_fields={},
            registered_at=ctx.at,
        )
    )


def subscribe(ctx: OpContext, marketing_sms: bool) -> bool:
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


def audit_change(ctx: OpContext, log_org_id: str, action: OpType, detail: str) -> None:
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
