"""The demo data holds one organization of every framework and scope the seeds describe."""

from __future__ import annotations

from tillcrm.domain import CustomerScope, OrgKind, PointsPolicy
from tillcrm.server.demo_data import DEMO_ORGS


def test_the_demo_has_one_organization_of_each_framework_and_scope() -> None:
    kinds = {
        (o.org.kind, o.org.customer_scope, o.org.points_policy, o.org.parent_id is not None)
        for o in DEMO_ORGS
        if o.org.kind is OrgKind.STANDARD
    }
    assert kinds == {
        (OrgKind.STANDARD, CustomerScope.BRAND, PointsPolicy.SHARED_POOL, False),
        (OrgKind.STANDARD, CustomerScope.ORGANIZATION, PointsPolicy.SHARED_POOL, False),
        (OrgKind.STANDARD, CustomerScope.ORGANIZATION, PointsPolicy.BRAND_WALLETS, False),
    }
    assert all(len(o.brands) == 2 for o in DEMO_ORGS if o.org.kind is OrgKind.STANDARD)
    [units] = [o for o in DEMO_ORGS if o.org.kind is OrgKind.ORG_UNITS]
    assert len(units.brands) == 2
    [parent] = [o for o in DEMO_ORGS if o.org.kind is OrgKind.CONNECTED and not o.org.parent_id]
    children = [o for o in DEMO_ORGS if o.org.parent_id == parent.org.id]
    assert len(children) == 2
