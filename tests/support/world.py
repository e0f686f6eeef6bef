"""A small CRM world for tests: one organization of each framework, two brands or units each,
a store and an enrolled till per brand, a cashier and a supervisor per organization."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from tests.support.crm_server import RunningCrm, fresh_database, serve_crm
from tillcrm.domain import (
    TEST_PIN_COST,
    Brand,
    CustomerScope,
    EventPeriod,
    Organization,
    OrgKind,
    PointsPolicy,
    PromotionCategory,
    Role,
    Season,
    Store,
)
from tillcrm.server import admin
from tillcrm.server.db import writing

CASHIER_PIN = "111111"
SUPERVISOR_PIN = "999999"
SUPERVISOR_BADGE = "SUPBADGE01"


@dataclass
class World:
    """Tokens of enrolled tills by name (`brand.a`, `pool.b`, ...) and the org ids."""

    crm: RunningCrm
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, till: str) -> httpx.Client:
        """An HTTP client acting as the named till."""
        return self.crm.client(self.tokens[till])


def add_operator(
    world: World, org_id: str, operator_id: str, *, pin: str = "123456", **fields: object
) -> None:
    """One more operator of `org_id` straight in the CRM (code and name are its id)."""
    with writing(world.crm.engine) as conn:
        admin.add_operator(
            conn,
            org_id=org_id,
            operator_id=operator_id,
            code=operator_id,
            name=operator_id,
            pin=pin,
            pin_cost=TEST_PIN_COST,
            **fields,  # type: ignore[arg-type]
        )


def enroll_till(world: World, store_id: str, name: str) -> str:
    """One more till enrolled at `store_id` as the CRM enrolls any, known to `world` as
    `name`; its token."""
    with writing(world.crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, store_id)
    with world.crm.client() as http:
        response = http.post("/tills/enroll", json={"code": code, "name": name})
        response.raise_for_status()
    token: str = response.json()["token"]
    world.tokens[name] = token
    return token


ORGS = {
    "brand": Organization(id="org-brand", name="Brand Group", customer_scope=CustomerScope.BRAND),
    "pool": Organization(
        id="org-pool",
        name="Pool Group",
        customer_scope=CustomerScope.ORGANIZATION,
        points_policy=PointsPolicy.SHARED_POOL,
    ),
    "wallets": Organization(
        id="org-wallets",
        name="Wallet Group",
        customer_scope=CustomerScope.ORGANIZATION,
        points_policy=PointsPolicy.BRAND_WALLETS,
    ),
    "units": Organization(id="org-units", name="Conglomerate", kind=OrgKind.ORG_UNITS),
    "unitsown": Organization(
        id="org-unitsown",
        name="Own Programs",
        kind=OrgKind.ORG_UNITS,
        points_policy=PointsPolicy.BRAND_WALLETS,
    ),
    "parent": Organization(id="org-parent", name="Parent", kind=OrgKind.CONNECTED),
    "child1": Organization(
        id="org-child1", name="Child One", kind=OrgKind.CONNECTED, parent_id="org-parent"
    ),
    "child2": Organization(
        id="org-child2", name="Child Two", kind=OrgKind.CONNECTED, parent_id="org-parent"
    ),
}
"""Standard orgs and units have brands `a` and `b`; connected orgs have one brand `a` each.
`units` runs one loyalty program for its units (a shared pool), `unitsown` one per unit."""

NOW = datetime.now(UTC)
SEASON = Season(
    id="season-1",
    name="This season",
    starts_on=date.today() - timedelta(days=60),
    ends_on=date.today() + timedelta(days=60),
)
EVENT = EventPeriod(
    id="event-now",
    name="Tonight's game",
    starts_at=NOW - timedelta(hours=2),
    ends_at=NOW + timedelta(hours=4),
    season_id="season-1",
)
GOLD = PromotionCategory(id="gold", name="Gold", discount_percent=10, points_per_unit=2)


def build_world(crm: RunningCrm) -> World:
    """Create every organization, enroll one till per brand, and return their tokens."""
    world = World(crm)
    stores: dict[str, str] = {}
    with writing(crm.engine) as conn:
        for key, org in ORGS.items():
            admin.add_organization(conn, org)
            brand_keys = ["a"] if org.kind is OrgKind.CONNECTED else ["a", "b"]
            for b in brand_keys:
                brand = admin.add_brand(conn, Brand(id=f"{key}-{b}", org_id=org.id, name=b))
                store = admin.add_store(
                    conn, Store(id=f"{key}-{b}-store", brand_id=brand.id, name=f"{key} {b}")
                )
                stores[f"{key}.{b}"] = store.id
            admin.add_operator(
                conn,
                org_id=org.id,
                operator_id=f"{key}-cashier",
                code=f"{key}-100",
                name="Cass Hier",
                pin=CASHIER_PIN,
                pin_cost=TEST_PIN_COST,
            )
            admin.add_operator(
                conn,
                org_id=org.id,
                operator_id=f"{key}-super",
                code=f"{key}-900",
                name="Sue Pervisor",
                pin=SUPERVISOR_PIN,
                role=Role.SUPERVISOR,
                badge=SUPERVISOR_BADGE,
                pin_cost=TEST_PIN_COST,
            )
            admin.add_season(conn, org.id, SEASON.model_copy(update={"id": f"{key}-season"}))
            admin.add_event(
                conn,
                org.id,
                EVENT.model_copy(update={"id": f"{key}-event", "season_id": f"{key}-season"}),
            )
            admin.add_promotion_category(
                conn, org.id, GOLD.model_copy(update={"id": f"{key}-gold"})
            )
    for name, store_id in stores.items():
        enroll_till(world, store_id, name)
    return world


@contextmanager
def world_on_a_crm_of_its_own(kind: str, tmp: Path, *, max_body_bytes: int) -> Iterator[World]:
    """The world on a CRM of its own, on a fresh `kind` database, that reads request bodies
    of up to `max_body_bytes` (the shared CRM's limit is the CRM's default)."""
    with (
        fresh_database(kind, tmp) as db_url,
        serve_crm(db_url, max_body_bytes=max_body_bytes) as crm,
    ):
        yield build_world(crm)
