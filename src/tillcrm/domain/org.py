"""Organizations and customer scope: who may see a customer, and which points account a sale hits.

The seeds describe three frameworks. A `standard` organization has brands that either keep their
own customers (`brand` scope, the default) or share one account across brands (`organization`
scope, with one points pool or one wallet per brand). An `org_units` organization shares every
customer across its units. A `connected` organization is a parent whose child organizations each
see only the customers registered with them; the parent owns the identity and sees all.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Brand",
    "CustomerOwnership",
    "CustomerScope",
    "OrgKind",
    "Organization",
    "PointsPolicy",
    "Store",
    "Till",
    "TillScope",
    "customer_visible",
    "effective_scope",
    "family_id",
    "points_account_brand",
]


class OrgKind(StrEnum):
    """The organization framework."""

    STANDARD = "standard"
    ORG_UNITS = "org_units"
    CONNECTED = "connected"


class CustomerScope(StrEnum):
    """Who owns a customer record: one brand, or the whole organization."""

    BRAND = "brand"
    ORGANIZATION = "organization"


class PointsPolicy(StrEnum):
    """Under organization scope: one fungible balance, or one balance per brand."""

    SHARED_POOL = "shared_pool"
    BRAND_WALLETS = "brand_wallets"


class Organization(BaseModel):
    """An organization; a child of a connected organization has `parent_id`."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    kind: OrgKind = OrgKind.STANDARD
    customer_scope: CustomerScope = CustomerScope.BRAND
    points_policy: PointsPolicy = PointsPolicy.SHARED_POOL
    parent_id: str | None = None
    currency: str = "USD"
    point_value: int = 1
    """Minor units one point is worth when it pays for a sale (1: 100 points pay 1.00)."""


class Brand(BaseModel):
    """A brand of a standard organization, or an organization unit (OU), owning stores."""

    model_config = ConfigDict(frozen=True)

    id: str
    org_id: str
    name: str


class Store(BaseModel):
    """A store (venue, outlet) of one brand."""

    model_config = ConfigDict(frozen=True)

    id: str
    brand_id: str
    name: str
    timezone: str = "UTC"


class Till(BaseModel):
    """A till terminal; it acts for exactly one brand through its store."""

    model_config = ConfigDict(frozen=True)

    id: str
    store_id: str
    name: str


def effective_scope(org: Organization) -> CustomerScope:
    """The organization's setting for a standard org; units and connected orgs share customers.

    Organization units share every customer across units; a connected parent (and each child,
    for its own independent profiles) keeps one identity at the organization level.
    """
    if org.kind is not OrgKind.STANDARD:
        return CustomerScope.ORGANIZATION
    return org.customer_scope


def family_id(org: Organization) -> str:
    """The root of the organizations whose tills can see each other's customers: a connected
    child's parent, else the organization itself (its brands or units share it).

    A card identifies at most one customer in a family: the CRM keys its uniqueness on this,
    so a parent's or a sibling's till cannot take over a child's card.
    """
    return org.parent_id or org.id


class TillScope(BaseModel):
    """Everything visibility rules need to know about the till asking."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    brand_id: str
    scope: CustomerScope
    parent_org_id: str | None = None
    """Set when the till's organization is a child of a connected organization."""

    @classmethod
    def of(cls, org: Organization, brand_id: str) -> TillScope:
        """The scope of a till of `brand_id` in `org`."""
        return cls(
            org_id=org.id,
            brand_id=brand_id,
            scope=effective_scope(org),
            parent_org_id=org.parent_id,
        )


class CustomerOwnership(BaseModel):
    """Where a customer record lives: its owning org, its brand (brand scope), its child orgs."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    brand_id: str | None = None
    registered_org_ids: frozenset[str] = frozenset()
    """Child organizations of a connected parent where the customer has registered."""


def customer_visible(till: TillScope, owner: CustomerOwnership) -> bool:
    """May this till see this customer at all (lookup, search, profile, history, pull)?

    - owned by the till's own organization: yes, unless the org is brand-scoped and the customer
      belongs to another brand;
    - owned by the till's connected parent: only once registered at the till's child org;
    - anything else (another org, a sibling child's private profile): no.
    """
    if owner.org_id == till.org_id:
        return till.scope is CustomerScope.ORGANIZATION or owner.brand_id == till.brand_id
    if till.parent_org_id is not None and owner.org_id == till.parent_org_id:
        return till.org_id in owner.registered_org_ids
    return False


def points_account_brand(org: Organization, till_brand_id: str) -> str | None:
    """The brand whose points account a sale at `till_brand_id` earns into and redeems from.

    `None` is the organization's one shared pool. A brand-scoped customer belongs to one brand,
    so their single account is that brand's; brand wallets keep one balance per brand.
    """
    if effective_scope(org) is CustomerScope.BRAND:
        return till_brand_id
    if org.points_policy is PointsPolicy.BRAND_WALLETS:
        return till_brand_id
    return None
