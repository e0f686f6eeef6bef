"""The fixed catalog of the demo: what every demo database holds whatever the seed.

Organizations of every framework the seeds describe, their brands, stores and history tills,
the operators, fields and settings, promotion categories, seasons and events placed around
`now`, and the well-known customers whose cards, tags and phone numbers the demo's on-screen
card panel and the docs name. The generator and the loader read it; nothing here draws at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from stdnum import ean

from tillcrm.domain import (
    Brand,
    CustomerScope,
    EventPeriod,
    Organization,
    OrgKind,
    PointsPolicy,
    PromotionCategory,
    Season,
)
from tillcrm.domain.org_fields import FieldDefinition, FieldKind

CASHIER_CODE, CASHIER_PIN = "100", "111111"
SUPERVISOR_CODE, SUPERVISOR_PIN, SUPERVISOR_BADGE = "900", "999999", "SUPBADGE01"
"""The same operators in every demo organization, so one set of keys works at any demo till.
A connected child has none of its own: its parent's work at its stores, and two operators
with one code could not both log in there."""


@dataclass(frozen=True)
class DemoOrg:
    """A demo organization and its brands (or units); each brand has one store."""

    org: Organization
    brands: tuple[Brand, ...]

    def store_id(self, brand: Brand) -> str:
        """The one store of `brand`."""
        return f"{brand.id}-store"


def _org(
    org_id: str,
    name: str,
    brands: Sequence[tuple[str, str]],
    *,
    kind: OrgKind = OrgKind.STANDARD,
    scope: CustomerScope = CustomerScope.BRAND,
    policy: PointsPolicy = PointsPolicy.SHARED_POOL,
    parent_id: str | None = None,
) -> DemoOrg:
    org = Organization(
        id=org_id,
        name=name,
        kind=kind,
        customer_scope=scope,
        points_policy=policy,
        parent_id=parent_id,
    )
    return DemoOrg(org, tuple(Brand(id=bid, org_id=org_id, name=bname) for bid, bname in brands))


DEMO_ORGS: tuple[DemoOrg, ...] = (
    _org(
        "demo-venues",
        "Riverside Venues",
        [("demo-arena", "Riverside Arena"), ("demo-theatre", "Riverside Theatre")],
    ),
    _org(
        "demo-dining",
        "Harbor Dining",
        [("demo-grill", "Harbor Grill"), ("demo-cafe", "Harbor Cafe")],
        scope=CustomerScope.ORGANIZATION,
        policy=PointsPolicy.SHARED_POOL,
    ),
    _org(
        "demo-resorts",
        "Summit Resorts",
        [("demo-ski", "Summit Ski Lodge"), ("demo-spa", "Summit Spa")],
        scope=CustomerScope.ORGANIZATION,
        policy=PointsPolicy.BRAND_WALLETS,
    ),
    _org(
        "demo-metro",
        "Metro Group",
        [("demo-metro-north", "Metro North"), ("demo-metro-south", "Metro South")],
        kind=OrgKind.ORG_UNITS,
    ),
    _org(
        "demo-lakeside",
        "Lakeside Holdings",
        [("demo-lakeside-hq", "Lakeside HQ")],
        kind=OrgKind.CONNECTED,
    ),
    _org(
        "demo-lakeside-east",
        "Lakeside East",
        [("demo-east", "Lakeside East Club")],
        kind=OrgKind.CONNECTED,
        parent_id="demo-lakeside",
    ),
    _org(
        "demo-lakeside-west",
        "Lakeside West",
        [("demo-west", "Lakeside West Club")],
        kind=OrgKind.CONNECTED,
        parent_id="demo-lakeside",
    ),
)
"""Brand-scoped (two brands), organization-scoped with a shared pool, with brand wallets,
organization units, and a connected parent with two child organizations."""

_VENUES, _DINING, _RESORTS, _METRO, _LAKESIDE, _EAST, _WEST = DEMO_ORGS

DEMO_FIELDS: tuple[FieldDefinition, ...] = (
    FieldDefinition(org_id=_LAKESIDE.org.id, name="home_club", label="Home club"),
    FieldDefinition(
        org_id=_LAKESIDE.org.id, name="member_since", kind=FieldKind.EXTENDED, label="Member since"
    ),
    FieldDefinition(org_id=_EAST.org.id, name="locker", label="Locker"),
    FieldDefinition(org_id=_WEST.org.id, name="mooring", label="Mooring"),
)
"""Lakeside's fields: the parent's home club (custom) and member-since year (extended) are
shared with both clubs; each club keeps one private field of its own."""

DEMO_SETTINGS: tuple[tuple[str, str, str], ...] = (
    (_LAKESIDE.org.id, "receipt_footer", "One Lakeside membership, every club."),
    (_EAST.org.id, "receipt_footer", "Lakeside East: see you at the marina."),
    (_EAST.org.id, "guest_passes_per_visit", "2"),
)
"""(owner, key, value): the parent's receipt footer overrides East's; East's guest passes are
its own."""

_HOME_CLUBS = ("Lakeside East Club", "Lakeside West Club")

DEMO_STORE_ID = _VENUES.store_id(_VENUES.brands[0])
"""The store a demo till enrolls at: Riverside Arena, where the well-known customers are."""

DEMO_EVENT_ID = f"{_VENUES.org.id}-event-now"
"""The event running now at Riverside Venues (per-event stored-value limits apply to it)."""


@dataclass(frozen=True)
class DemoCustomer:
    """A customer whose cards and phone are the same in every demo database."""

    id: UUID
    first_name: str
    last_name: str
    org_id: str
    brand_id: str | None
    mobile: str
    barcode: str
    magstripe: str
    rfid: str
    role: str
    """What the customer shows off in a demo."""
    registered_at: tuple[str, ...] = ()
    """Child organizations of a connected parent where the customer has registered."""
    showcase: bool = False
    """A store's demo customer: wallet cards, a house account with authorized users, a
    stored-value card with its limits partly used, and history over months."""
    house_account: bool = False
    active: bool = True
    go_green: bool = False
    blocked_barcode: str | None = None
    """An old, lost card of theirs: blocked, so identifying by it is refused."""


def _known(
    n: int,
    first: str,
    last: str,
    org: DemoOrg,
    brand: int | None,
    role: str,
    *,
    registered_at: tuple[DemoOrg, ...] = (),
    showcase: bool = False,
    house_account: bool = False,
    active: bool = True,
    go_green: bool = False,
) -> DemoCustomer:
    return DemoCustomer(
        id=UUID(f"00000000-0000-4000-8000-{n:012d}"),
        first_name=first,
        last_name=last,
        org_id=org.org.id,
        brand_id=org.brands[brand].id if brand is not None else None,
        mobile=f"+1415555{100 + n:04d}",
        barcode=_ean13(f"20000000{n:04d}"),
        magstripe=f"7000{n:012d}",
        rfid=f"04A1B2C3{n:02X}",
        role=role,
        registered_at=tuple(child.org.id for child in registered_at),
        showcase=showcase,
        house_account=house_account or showcase,
        active=active,
        go_green=go_green,
        blocked_barcode=(
            (DEMO_BLOCKED_BARCODE if n == 1 else _ean13(f"2000000099{n:02d}")) if showcase else None
        ),
    )


def _ean13(first12: str) -> str:
    """`first12` and its EAN-13 check digit, as a scanner validates it."""
    return f"{first12}{ean.calc_check_digit(first12)}"


DEMO_BLOCKED_BARCODE = _ean13("200000009999")
"""Maya Fischer's old, lost card: blocked, so identifying by it is refused."""

_GREEN = "go-green: no printed receipt unless asked"
_INACTIVE = "inactive: needs a supervisor to charge"

DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    _known(
        1,
        "Maya",
        "Fischer",
        _VENUES,
        0,
        "VIP with points, a stored-value card and history",
        showcase=True,
    ),
    _known(2, "Jonas", "Weber", _VENUES, 0, "stored-value card with per-event and season limits"),
    _known(
        3,
        "Lena",
        "Ortiz",
        _VENUES,
        0,
        f"{_GREEN}; house account with authorized users and a suite",
        house_account=True,
        go_green=True,
    ),
    _known(4, "Tom", "Becker", _VENUES, 0, _INACTIVE, active=False),
    _known(
        5,
        "Priya",
        "Raman",
        _VENUES,
        1,
        "a Riverside Theatre customer the Arena cannot see",
        showcase=True,
    ),
    _known(
        6,
        "Sam",
        "Carter",
        _DINING,
        None,
        "one account and points pool at both restaurants",
        showcase=True,
    ),
    _known(
        7, "Noor", "Haddad", _RESORTS, None, "one account, a points wallet per brand", showcase=True
    ),
    _known(
        8,
        "Ella",
        "Novak",
        _LAKESIDE,
        None,
        "connected: registered at Lakeside East only",
        registered_at=(_EAST,),
        showcase=True,
    ),
    _known(9, "Ines", "Moreau", _VENUES, 1, _GREEN, go_green=True),
    _known(10, "Karl", "Janssen", _VENUES, 1, _INACTIVE, active=False),
    _known(11, "Aiko", "Tanaka", _DINING, None, _GREEN, go_green=True),
    _known(12, "Rafael", "Costa", _DINING, None, _INACTIVE, active=False),
    _known(13, "Freya", "Lund", _RESORTS, None, _GREEN, go_green=True),
    _known(14, "Omar", "Farouk", _RESORTS, None, _INACTIVE, active=False),
    _known(
        15,
        "Grace",
        "Okafor",
        _METRO,
        None,
        "one customer base shared by both units",
        showcase=True,
    ),
    _known(16, "Hugo", "Brandt", _METRO, None, _GREEN, go_green=True),
    _known(17, "Mila", "Kovac", _METRO, None, _INACTIVE, active=False),
    _known(
        18,
        "Oskar",
        "Lind",
        _LAKESIDE,
        None,
        "connected: registered at both Lakeside clubs",
        registered_at=(_EAST, _WEST),
        showcase=True,
    ),
    _known(
        19, "Nina", "Berg", _LAKESIDE, None, _GREEN, registered_at=(_EAST, _WEST), go_green=True
    ),
    _known(
        20, "Paul", "Weiss", _LAKESIDE, None, _INACTIVE, registered_at=(_EAST, _WEST), active=False
    ),
)
"""The well-known demo customers, loaded first whatever the seed (so `--customers` >= 20)."""


@dataclass(frozen=True)
class DemoStore:
    """A store a demo till can be enrolled at, and the customers its card keys present."""

    org: DemoOrg
    brand: Brand
    framework: str
    """How the store's organization keeps customers, in the seeds' words."""
    customer: DemoCustomer
    """The store's demo customer: wallet cards, authorized users, suites, history."""
    go_green: DemoCustomer
    inactive: DemoCustomer

    @property
    def id(self) -> str:
        """The store's id (`tillcrm demo --store ID`)."""
        return self.org.store_id(self.brand)

    @property
    def name(self) -> str:
        """What a cashier calls the store."""
        return self.brand.name


def _stores() -> tuple[DemoStore, ...]:
    """Every demo store, each presenting customers its till can see."""
    known = {customer.first_name: customer for customer in DEMO_CUSTOMERS}
    arena, theatre = _VENUES.brands
    plan: list[tuple[DemoOrg, Brand, str, str, str, str]] = [
        (_VENUES, arena, "standard, brand-scoped customers", "Maya", "Lena", "Tom"),
        (_VENUES, theatre, "standard, brand-scoped customers", "Priya", "Ines", "Karl"),
        *(
            (_DINING, brand, "organization-scoped, one shared points pool", "Sam", "Aiko", "Rafael")
            for brand in _DINING.brands
        ),
        *(
            (
                _RESORTS,
                brand,
                "organization-scoped, a points wallet per brand",
                "Noor",
                "Freya",
                "Omar",
            )
            for brand in _RESORTS.brands
        ),
        *(
            (_METRO, brand, "organization units sharing one customer base", "Grace", "Hugo", "Mila")
            for brand in _METRO.brands
        ),
        (_LAKESIDE, _LAKESIDE.brands[0], "connected parent organization", "Ella", "Nina", "Paul"),
        (_EAST, _EAST.brands[0], "connected child organization", "Ella", "Nina", "Paul"),
        (_WEST, _WEST.brands[0], "connected child organization", "Oskar", "Nina", "Paul"),
    ]
    return tuple(
        DemoStore(org, brand, framework, known[star], known[green], known[inactive])
        for org, brand, framework, star, green, inactive in plan
    )


DEMO_STORES: tuple[DemoStore, ...] = _stores()
"""Every demo store: a till of any of them shows its organization's framework."""
DEMO_STORE_BY_ID: dict[str, DemoStore] = {store.id: store for store in DEMO_STORES}


DEMO_BARCODE = DEMO_CUSTOMERS[0].barcode
"""EAN-13 on Maya Fischer's loyalty card."""
DEMO_MAGSTRIPE = DEMO_CUSTOMERS[0].magstripe
"""The account number on track 2 of Maya Fischer's magnetic-stripe card."""
DEMO_MAGSTRIPE_TRACK2 = f";{DEMO_MAGSTRIPE}?"
"""What a reader sends for Maya Fischer's card (no expiry field: not a payment card)."""
DEMO_RFID = DEMO_CUSTOMERS[0].rfid
"""Maya Fischer's contactless tag, as readers report it (upper-case hex)."""
DEMO_PHONE = DEMO_CUSTOMERS[0].mobile
"""Maya Fischer's mobile, E.164."""

_CATEGORIES = (
    PromotionCategory(id="standard", name="Standard", discount_percent=0, points_per_unit=1),
    PromotionCategory(id="silver", name="Silver", discount_percent=5, points_per_unit=2),
    PromotionCategory(
        id="gold", name="Gold", discount_percent=10, points_per_unit=3, credit_limit=50_000
    ),
    PromotionCategory(id="staff", name="Staff", discount_percent=20, points_per_unit=0),
)
"""Promotion categories of every organization (ids prefixed with the organization's id)."""


def _category_id(org: DemoOrg, category: PromotionCategory) -> str:
    return f"{org.org.id}-{category.id}"


def _history_till(org: DemoOrg, brand: Brand) -> str:
    """The till that rang up a store's demo history (enrolled with a token nobody holds)."""
    return f"{org.store_id(brand)}-till-1"


@dataclass(frozen=True)
class _Calendar:
    """An organization's seasons and events, placed around `now`."""

    seasons: tuple[Season, ...]
    past_events: tuple[EventPeriod, ...]
    running: EventPeriod
    events: tuple[EventPeriod, ...]


def _calendar(org_id: str, now: datetime) -> _Calendar:
    """Last and this season; eight weekly events so far, one running now, one to come."""
    today = now.date()
    current = Season(
        id=f"{org_id}-season-now",
        name=f"{today.year} season",
        starts_on=today - timedelta(days=180),
        ends_on=today + timedelta(days=90),
    )
    earlier = Season(
        id=f"{org_id}-season-last",
        name=f"{today.year - 1} season",
        starts_on=today - timedelta(days=545),
        ends_on=today - timedelta(days=181),
    )
    evening = datetime.combine(today, time(19), tzinfo=UTC)
    past = tuple(
        EventPeriod(
            id=f"{org_id}-event-{weeks}w-ago",
            name=f"Home game, {weeks} week{'s' if weeks > 1 else ''} ago",
            starts_at=evening - timedelta(weeks=weeks),
            ends_at=evening - timedelta(weeks=weeks) + timedelta(hours=4),
            season_id=current.id,
        )
        for weeks in range(1, 9)
    )
    running = EventPeriod(
        id=f"{org_id}-event-now",
        name="Tonight's game",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        season_id=current.id,
    )
    coming = EventPeriod(
        id=f"{org_id}-event-next",
        name="Derby day",
        starts_at=evening + timedelta(days=14),
        ends_at=evening + timedelta(days=14, hours=4),
        season_id=current.id,
    )
    return _Calendar(
        seasons=(earlier, current),
        past_events=past,
        running=running,
        events=(*past, running, coming),
    )


def _past_events(now: datetime) -> dict[str, tuple[EventPeriod, ...]]:
    return {demo.org.id: _calendar(demo.org.id, now).past_events for demo in DEMO_ORGS}
