"""The organization framework at the till: what context the cashier sees a customer in, and
registering a connected parent's customer at this child organization.

The profile's organization section is built from the till's context (kept for offline use)
and the customer record (the CRM's view for this till, cached by pull), so it shows the same
fields, label, status and balances offline as online.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from tillcrm.api import (
    REGISTERED_AT_PARENT,
    CustomerOut,
    CustomerRegister,
    MembershipUpdate,
    OpType,
    PointsBalance,
    TillContext,
)
from tillcrm.crm import CrmError, CrmNotFound
from tillcrm.domain import CustomerScope, IdentifierKind, OrgKind, PointsPolicy, effective_scope
from tillcrm.local import CustomerCache
from tillcrm.till._editing import CustomerEditing
from tillcrm.till._results import Declined, NotFound, Offline, RegisterHere, Saved

__all__ = [
    "OrgAccess",
    "OrgProfile",
    "brand_name",
    "not_found_here",
    "org_profile",
    "with_membership",
]


@dataclass(frozen=True)
class OrgProfile:
    """The organization section of a customer's profile at this till."""

    context: str
    """Which organization or brand the cashier sees the customer as."""
    sharing: str
    """Who else shares this customer and their points."""
    label: str
    status: str
    marketing_sms: bool
    """Subscribed to this organization's (or unit's) marketing SMS."""
    fields: list[tuple[str, str]]
    """(title, value) of each extended and custom field visible here, defined ones first."""
    points: list[tuple[str, int]]
    """(account, balance) of each points balance the policy shows here."""


def _context_line(context: TillContext) -> str:
    org, brand = context.organization, context.brand
    if context.parent is not None:
        return f"{org.name} (connected to {context.parent.name}) · {brand.name}"
    if org.kind is OrgKind.ORG_UNITS:
        return f"{org.name} · unit {brand.name}"
    return f"{org.name} · {brand.name}"


def _sharing(context: TillContext) -> str:
    org = context.organization
    if context.parent is not None:
        return f"customers registered here; the identity is kept by {context.parent.name}"
    if org.kind is OrgKind.CONNECTED:
        return "every customer of the connected organizations"
    wallets = org.points_policy is PointsPolicy.BRAND_WALLETS
    if org.kind is OrgKind.ORG_UNITS:
        loyalty = "loyalty per unit" if wallets else "one loyalty program for all units"
        return f"customers shared by every unit; {loyalty}"
    if effective_scope(org) is CustomerScope.BRAND:
        return f"customers of {context.brand.name} only"
    points = "a points wallet per brand" if wallets else "one points pool"
    return f"customers shared by every brand of {org.name}; {points}"


def brand_name(context: TillContext, brand_id: str) -> str:
    """A brand (or unit) of this organization or its parent by its name; its id only for one
    added at the CRM since the till last read its context."""
    if brand_id == context.brand.id:
        return context.brand.name
    return next((brand.name for brand in context.brands if brand.id == brand_id), brand_id)


def _account_name(context: TillContext, balance: PointsBalance) -> str:
    return "Points" if balance.brand_id is None else brand_name(context, balance.brand_id)


def org_profile(context: TillContext, customer: CustomerOut) -> OrgProfile:
    """The organization section for `customer` as seen at the till of `context`."""
    values = customer.profile.custom_fields
    defined = [(field.title, values.get(field.name, "")) for field in context.fields]
    names = {field.name for field in context.fields}
    undefined = [(name, value) for name, value in sorted(values.items()) if name not in names]
    return OrgProfile(
        context=_context_line(context),
        sharing=_sharing(context),
        label=customer.label,
        status=customer.status,
        marketing_sms=customer.profile.flags.marketing_sms,
        fields=defined + undefined,
        points=[(_account_name(context, b), b.balance) for b in customer.balances.points],
    )


def not_found_here(
    refused: CrmError, context: TillContext, kind: IdentifierKind, value: str
) -> NotFound:
    """The CRM's refusal to identify, in its own words; at a connected child, with the offer
    to register the parent's customer here when that is why this till does not see them."""
    parent = context.parent
    if parent is None or refused.code != REGISTERED_AT_PARENT:
        return NotFound(str(refused))
    offer = RegisterHere(parent=parent.name, kind=kind, value=value)
    return NotFound(f"registered at {parent.name}, not yet here", register=offer)


def with_membership(customer: CustomerOut, change: MembershipUpdate) -> CustomerOut:
    """The cached record with this organization's label, status or subscription changed."""
    update: dict[str, object] = change.model_dump(include={"label", "status"}, exclude_none=True)
    if change.marketing_sms is not None:
        flags = customer.profile.flags.model_copy(update={"marketing_sms": change.marketing_sms})
        update["profile"] = customer.profile.model_copy(update={"flags": flags})
    return customer.model_copy(update=update)


class OrgAccess(CustomerEditing):
    """The organization section of a profile, registering a parent's customer here, and what
    this organization keeps of its own about a customer (label, status, subscription)."""

    def org_profile(self, customer: CustomerOut) -> OrgProfile:
        """The organization section for a customer shown at this till."""
        return org_profile(self._context, customer)

    def brand_name(self, brand_id: str) -> str:
        """A brand of this organization (or its parent) as the cashier knows it: its name."""
        return brand_name(self._context, brand_id)

    async def register_here(
        self, kind: IdentifierKind, value: str, *, marketing_sms: bool = False
    ) -> CustomerOut | NotFound | Offline:
        """Register the connected parent's customer who presents this card or phone at this
        child organization (online only: the parent's other customers are not in the cache).

        The customer, with the parent's standard and parent-level fields, goes into the cache.
        """
        operator = self._session.require()
        client = self._client
        if self._context.parent is None:
            return NotFound("only a connected child organization registers a parent's customer")
        if client is None:
            return Offline("registering a customer of the parent organization")
        request = CustomerRegister(kind=kind, value=value, marketing_sms=marketing_sms)
        try:
            customer = await self._reach(
                lambda: client.register_customer(request, operator_id=operator.id)
            )
        except CrmNotFound:
            return NotFound(f"no customer of {self._context.parent.name} has this {kind.value}")
        if customer is None:
            return Offline("registering a customer of the parent organization")
        with self._db.write() as conn:
            CustomerCache.store(conn, [customer])
        return customer

    def update_membership(
        self,
        customer_id: UUID,
        *,
        label: str | None = None,
        status: str | None = None,
        marketing_sms: bool | None = None,
    ) -> Saved | Declined:
        """Change this organization's own label, status or marketing-SMS subscription for the
        customer; None leaves one as it is. Offline too: queued like any edit, and the other
        organizations of a connected group or units keep theirs."""
        operator = self._session.require()
        try:
            change = MembershipUpdate(label=label, status=status, marketing_sms=marketing_sms)
        except ValidationError as exc:
            return Declined.invalid(exc)
        if not change.model_dump(exclude_none=True):
            return Declined("nothing to change")
        customer = self._cache.get(customer_id)
        if customer is None:
            return Declined("unknown customer")
        return self._write(
            with_membership(customer, change), OpType.MEMBERSHIP_UPDATE, change, operator
        )
