"""Customer visibility and points accounts under every organization framework of the seeds."""

import pytest

from tillcrm.domain import (
    CustomerOwnership,
    CustomerScope,
    Organization,
    OrgKind,
    PointsPolicy,
    TillScope,
    customer_visible,
    points_account_brand,
)

BRAND_SCOPED = Organization(id="org", name="Org", customer_scope=CustomerScope.BRAND)
ORG_SCOPED = Organization(id="org", name="Org", customer_scope=CustomerScope.ORGANIZATION)
WALLETS = ORG_SCOPED.model_copy(update={"points_policy": PointsPolicy.BRAND_WALLETS})
UNITS = Organization(id="org", name="Org", kind=OrgKind.ORG_UNITS)  # scope setting ignored
PARENT = Organization(id="parent", name="Parent", kind=OrgKind.CONNECTED)
CHILD_A = Organization(id="child-a", name="A", kind=OrgKind.CONNECTED, parent_id="parent")
CHILD_B = Organization(id="child-b", name="B", kind=OrgKind.CONNECTED, parent_id="parent")


def test_brand_scope_hides_other_brands_customers() -> None:
    customer = CustomerOwnership(org_id="org", brand_id="brand-a")
    assert customer_visible(TillScope.of(BRAND_SCOPED, "brand-a"), customer)
    assert not customer_visible(TillScope.of(BRAND_SCOPED, "brand-b"), customer)


@pytest.mark.parametrize("org", [ORG_SCOPED, UNITS])
def test_organization_scope_and_units_share_customers_across_brands(org: Organization) -> None:
    customer = CustomerOwnership(org_id="org")
    assert customer_visible(TillScope.of(org, "brand-a"), customer)
    assert customer_visible(TillScope.of(org, "brand-b"), customer)


def test_no_organization_sees_another_organizations_customers() -> None:
    customer = CustomerOwnership(org_id="other-org")
    assert not customer_visible(TillScope.of(ORG_SCOPED, "brand-a"), customer)


def test_connected_child_sees_parent_customer_only_where_registered() -> None:
    customer = CustomerOwnership(org_id="parent", registered_org_ids=frozenset({"child-a"}))
    assert customer_visible(TillScope.of(CHILD_A, "a-brand"), customer)
    assert not customer_visible(TillScope.of(CHILD_B, "b-brand"), customer)
    assert customer_visible(TillScope.of(PARENT, "parent-brand"), customer)


def test_child_independent_profile_is_private_to_that_child() -> None:
    customer = CustomerOwnership(org_id="child-a")
    assert customer_visible(TillScope.of(CHILD_A, "a-brand"), customer)
    assert not customer_visible(TillScope.of(PARENT, "parent-brand"), customer)
    assert not customer_visible(TillScope.of(CHILD_B, "b-brand"), customer)


@pytest.mark.parametrize(
    ("org", "brand", "expected"),
    [
        (BRAND_SCOPED, "brand-a", "brand-a"),
        (ORG_SCOPED, "brand-a", None),  # shared pool: one balance
        (ORG_SCOPED, "brand-b", None),
        (WALLETS, "brand-a", "brand-a"),  # one wallet per brand
        (WALLETS, "brand-b", "brand-b"),
    ],
)
def test_points_account_follows_the_policy(
    org: Organization, brand: str, expected: str | None
) -> None:
    assert points_account_brand(org, brand) == expected
