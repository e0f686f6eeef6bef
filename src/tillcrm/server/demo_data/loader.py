"""Deterministic demo data for the reference CRM (`tillcrm crm demo-data`).

One organization of every framework the seeds describe, with brands, stores, operators, events,
seasons and promotion categories; then N customers with identifiers of every kind, points,
stored-value cards, house accounts, authorized users, suites and purchase history. The same seed
and the same `now` give the same rows, so a demo, a screenshot or a benchmark can be repeated.

A million customers must load in under two minutes on SQLite, so: worker processes generate
chunks of customers and encode their rows for the driver while this process writes the previous
chunk (one compiled INSERT per table, the driver's `executemany`, one transaction per chunk); the
CRM's counters are advanced once for the whole load (customer numbers, change sequence) or once
per chunk (transaction numbers); profiles are validated once as a template and filled in with
`model_copy`, and their stored columns come from `customer_rows.profile_columns`, exactly as for
a customer made at a till. On SQLite the search index is built once after the load instead of
row by row (see `_search_index_built_after`).

The first customers are always the well-known ones of `DEMO_CUSTOMERS`: their cards, tags and
phone numbers do not depend on the seed, so the demo's on-screen card panel and the docs can
name them.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import operator
import os
import random
import secrets
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine

from tillcrm.domain import (
    Address,
    AuthorizedUser,
    Brand,
    CustomerFlags,
    CustomerProfile,
    CustomerScope,
    EventPeriod,
    IdentifierKind,
    IdentifierStatus,
    Organization,
    OrgKind,
    PointsPolicy,
    PromotionCategory,
    Role,
    Season,
    Store,
    Tender,
    TenderKind,
    TransactionLine,
    family_id,
    points_account_brand,
    points_earned,
)
from tillcrm.domain.org_fields import FieldDefinition, FieldKind
from tillcrm.server import admin
from tillcrm.server.context import hash_token
from tillcrm.server.customer_rows import identifier_row, profile_columns
from tillcrm.server.customer_view import POOL_ACCOUNT
from tillcrm.server.db import advance_counter, writing
from tillcrm.server.ops.sales import TRANSACTION_NUMBER
from tillcrm.server.org_config import define_field, put_setting
from tillcrm.server.tables import (
    authorized_users,
    customer_registrations,
    customers,
    identifiers,
    organizations,
    points_accounts,
    points_ledger,
    store_credit_ledger,
    stored_value_cards,
    stored_value_ledger,
    suites,
    till_sync,
    tills,
    transactions,
    wallet_cards,
)

__all__ = [
    "CASHIER_CODE",
    "CASHIER_PIN",
    "CHUNK",
    "DEMO_BARCODE",
    "DEMO_BLOCKED_BARCODE",
    "DEMO_CUSTOMERS",
    "DEMO_EVENT_ID",
    "DEMO_MAGSTRIPE",
    "DEMO_MAGSTRIPE_TRACK2",
    "DEMO_ORGS",
    "DEMO_PHONE",
    "DEMO_RFID",
    "DEMO_STORES",
    "DEMO_STORE_BY_ID",
    "DEMO_STORE_ID",
    "MAX_DEMO_CUSTOMERS",
    "SUPERVISOR_BADGE",
    "SUPERVISOR_CODE",
    "SUPERVISOR_PIN",
    "DemoAlreadyLoadedError",
    "DemoCustomer",
    "DemoOrg",
    "DemoStore",
    "DemoSummary",
    "load_demo_data",
]

CASHIER_CODE, CASHIER_PIN = "100", "111111"
SUPERVISOR_CODE, SUPERVISOR_PIN, SUPERVISOR_BADGE = "900", "999999", "SUPBADGE01"
"""The same operators in every demo organization, so one set of keys works at any demo till.
A connected child has none of its own: its parent's work at its stores, and two operators
with one code could not both log in there."""

MAX_DEMO_CUSTOMERS = 10_000_000
"""Generated phone numbers stay unique (and clear of the well-known ones) up to here."""

CHUNK = 25_000
"""Customers per transaction: large enough that commits cost nothing, small enough that the
SQLite write-ahead log is checkpointed as the load goes."""

_BLOCK = 1_000
"""Customers per random stream: chunks are multiples of it, so chunking never changes data."""

_SQLITE_CACHE_KIB = 256 * 1024
"""Page cache of the loading connection: the indexes of a million customers stay in memory."""


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
    """`first12` and its EAN-13 check digit (weights 1 and 3 from the left)."""
    weighted = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return f"{first12}{-weighted % 10}"


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


class DemoAlreadyLoadedError(Exception):
    """The database already holds the demo organizations."""


@dataclass
class DemoSummary:
    """What was loaded: rows per table that a demo or a test counts on."""

    customers: int = 0
    identifiers: int = 0
    transactions: int = 0
    points_ledger: int = 0
    stored_value_cards: int = 0
    authorized_users: int = 0
    suites: int = 0

    def add(self, other: DemoSummary) -> None:
        """Count `other`'s rows in too."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Emma Liam Olivia Noah Ava Elijah Sophia Lucas Mia Mateo Amelia Levi Harper Ethan Aria "
    "Mason Chloé Logan Zoë Oliver Nora Kai Léa Hugo Ingrid Søren Aisha Omar Fatima Yusuf "
    "Mei Wei Hana Kenji Priya Arjun Ana José Lucía Diego Camila Tomás Ines Rafael Eva Jakub "
    "Zofia Piotr Freya Erik Astrid Nils Chiara Marco Giulia Luca Sofía Pablo Amara Kwame "
    "Ngozi Tariq Leila Ravi Ananya Dmitri Katya Bjørn Saoirse Niamh Ciarán Malia Keanu"
)
_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martínez Hernández "
    "López Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Pérez Thompson "
    "White Harris Sánchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Kowalski "
    "Nowak Novák Dvořák Rossi Russo Ferrari Esposito Bianchi Dubois Lefèvre Moreau O'Brien "
    "Murphy Kelly Tanaka Suzuki Kim Park Chen Wang Singh Patel Okafor Mensah Haddad Cohen"
)
_COMPANIES = (
    "Acme Catering",
    "Blue River Events",
    "Northwind Traders",
    "Granite & Oak LLP",
    "Sunrise Dental",
    "Keystone Builders",
    "Lighthouse Media",
    "Evergreen Realty",
)
_STREETS = ("Main St", "Oak Ave", "Harbor Rd", "Elm St", "Lake Dr", "Hill Rd", "Park Ave")
_CITIES = (
    ("Springfield", "IL", "62701"),
    ("Portland", "OR", "97205"),
    ("Austin", "TX", "78701"),
    ("Madison", "WI", "53703"),
    ("Burlington", "VT", "05401"),
    ("Boulder", "CO", "80302"),
)
_AREA_CODES = ("212", "312", "415", "617", "206", "303", "512", "702")
_TAGS = (
    (),
    (),
    (),
    ("regular",),
    ("season-ticket",),
    ("wine-club",),
    ("allergy:nuts",),
    ("regular", "birthday-club"),
)
_COMMENTS = (
    "Prefers the window table.",
    "Allergic to shellfish.",
    "Season ticket holder since 2019.",
    "Ask about the loyalty upgrade.",
)
_MENU = (
    ("Hot dog", 650),
    ("Draft beer", 900),
    ("Soft drink", 450),
    ("Pretzel", 550),
    ("Nachos", 800),
    ("Program", 1000),
    ("Team scarf", 2500),
    ("Burger and fries", 1450),
    ("Glass of wine", 1100),
    ("Coffee", 400),
    ("Cheesecake", 750),
    ("Spa day pass", 6500),
)
_CATEGORIES = (
    PromotionCategory(id="standard", name="Standard", discount_percent=0, points_per_unit=1),
    PromotionCategory(id="silver", name="Silver", discount_percent=5, points_per_unit=2),
    PromotionCategory(
        id="gold", name="Gold", discount_percent=10, points_per_unit=3, credit_limit=50_000
    ),
    PromotionCategory(id="staff", name="Staff", discount_percent=20, points_per_unit=0),
)
"""Promotion categories of every organization (ids prefixed with the organization's id)."""


@functools.cache
def _email_name(first: str, last: str) -> str:
    """`first.last` in plain ASCII letters, for an email address."""
    name = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
    return "".join(ch for ch in name if ch.isalnum() or ch == ".")


def _category_id(org: DemoOrg, category: PromotionCategory) -> str:
    return f"{org.org.id}-{category.id}"


_Placement = tuple[DemoOrg, int | None, tuple[DemoOrg, ...]]
"""The owner, the owning brand's index (None: owned by the organization), the connected child
organizations the customer registered with."""
_PLACEMENT: tuple[_Placement, ...] = (
    (_VENUES, 0, ()),
    (_VENUES, 1, ()),
    (_VENUES, 0, ()),
    (_VENUES, 1, ()),
    (_DINING, None, ()),
    (_DINING, None, ()),
    (_RESORTS, None, ()),
    (_METRO, None, ()),
    (_LAKESIDE, None, (_EAST,)),
    (_LAKESIDE, None, (_EAST, _WEST)),
)
"""Where generated customers live: customer i is placed by `_PLACEMENT[i % 10]`."""
_CATEGORY_ODDS = (_CATEGORIES[0],) * 6 + (_CATEGORIES[1],) * 2 + _CATEGORIES[2:]
"""Most customers are standard, some silver, few gold or staff."""
_ORG_BY_ID = {demo.org.id: demo for demo in DEMO_ORGS}


def _uuid_source(seed: int) -> Callable[[int, int], UUID]:
    """Ids that depend only on the seed and grow with the row number (B-tree friendly).

    Layout: 48 bits from the seed, version 8 (RFC 9562 custom), 12 bits naming the kind of
    row, the RFC variant, and the row number in the low 62 bits.
    """
    prefix = random.Random(f"ids-{seed}").getrandbits(48)
    base = (prefix << 80) | (0x8 << 76) | (0b10 << 62)
    bases = {kind: base | (kind << 64) for kind in _ID_KINDS}

    def make(kind: int, number: int) -> UUID:
        return UUID(int=bases[kind] | number)

    return make


_ID_KINDS = _ID_CUSTOMER, _ID_OP, _ID_TRANSACTION, _ID_USER, _ID_SUITE, _ID_WALLET = range(1, 7)

_KNOWN_CARD_LIMITS: dict[int, tuple[int | None, int | None]] = {
    **{i: (10_000, 40_000) for i, known in enumerate(DEMO_CUSTOMERS) if known.showcase},
    1: (5_000, 25_000),
}
"""Stored-value cards of the well-known customers: per-event and per-season limits."""

_SHOWCASE_HISTORY_DAYS = (4, 19, 47, 83, 126, 171)
"""How long ago a showcase customer's past sales were: history over half a year."""

_SHOWCASE_WALLET = (("visa", "4242", 11, 2029, "Suites"), ("mastercard", "4444", 3, 2028, ""))
"""A showcase customer's saved cards: processor tokens and what may be shown, never a PAN."""


class _RowEncoder:
    """Rows of one table as the database driver takes them, for one compiled INSERT.

    Values go through each column type's own bind processor, so they are stored exactly as a
    Core insert would store them; only SQLAlchemy's per-row bookkeeping is skipped, which is
    most of the cost of a million-row load. Encoding runs in the generating worker process.
    """

    def __init__(self, dialect: Dialect, table: sa.Table, columns: Sequence[str]) -> None:
        compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.keys = list(compiled.positiontup or columns) if self.positional else list(columns)
        self.values = operator.itemgetter(*self.keys)
        self.conversions = [
            (position, processor)
            for position, key in enumerate(self.keys)
            if (processor := table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
        ]

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Driver parameters for `executemany`: tuples, or dicts for a named paramstyle."""
        params: list[Any] = []
        for row in rows:
            values = list(self.values(row))
            for position, processor in self.conversions:
                values[position] = processor(values[position])
            params.append(
                tuple(values) if self.positional else dict(zip(self.keys, values, strict=True))
            )
        return params


def _encoded(dialect: Dialect, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> _Batch:
    encoder = _RowEncoder(dialect, table, list(rows[0]))
    return _Batch(table.name, encoder.sql, encoder.encode(rows))


@dataclass(frozen=True)
class _Batch:
    """One table's rows of a chunk, ready for the driver."""

    table: str
    sql: str
    params: list[Any]


@dataclass
class _Chunk:
    """Rows of one chunk, per table."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    points: dict[tuple[UUID, str], int] = field(default_factory=dict)
    points_ledger: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    card_ledger: list[dict[str, Any]] = field(default_factory=list)
    credit_ledger: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    suites: list[dict[str, Any]] = field(default_factory=list)
    wallet: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)


class _Generator:
    """Makes the rows of customer after customer from one random stream."""

    def __init__(
        self, seed: int, now: datetime, past_events: dict[str, tuple[EventPeriod, ...]]
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.uuid = _uuid_source(seed)
        self.index = 0
        self.now = now
        self.past_events = past_events
        self.tonight = {demo.org.id: _calendar(demo.org.id, now).running for demo in DEMO_ORGS}
        """The event running now at each organization."""
        self.serials: dict[int, int] = {}
        self.template = CustomerProfile()
        self.addresses = [
            Address(
                line1=f"{n} {street}", city=city, region=region, postal_code=postal, country="US"
            )
            for n in (12, 140, 77, 905, 3)
            for street in _STREETS
            for city, region, postal in _CITIES
        ]
        self.flags = {
            (active, vip, green, loyal, sms): CustomerFlags(
                active=active, vip=vip, go_green=green, loyalty_enabled=loyal, marketing_sms=sms
            )
            for active in (True, False)
            for vip in (True, False)
            for green in (True, False)
            for loyal in (True, False)
            for sms in (True, False)
        }
        self.menu = [TransactionLine(description=d, unit_price=p).model_dump() for d, p in _MENU]

    def new_id(self, kind: int) -> UUID:
        """The next id of a kind of row of the current customer (at most 255 of each)."""
        self.serials[kind] = number = self.serials.get(kind, 0) + 1
        return self.uuid(kind, self.index << 8 | number)

    def op_id(self) -> UUID:
        """The next op id of a ledger row."""
        return self.new_id(_ID_OP)

    def customer(self, chunk: _Chunk, index: int, number: int, change_seq: int) -> None:
        """Add customer `index` (0-based over the whole load) and everything they own.

        The random stream restarts every `_BLOCK` customers, and ids are numbered per
        customer, so a customer's rows do not depend on how the load is cut into chunks.
        """
        if index % _BLOCK == 0:
            self.rng = random.Random(f"{self.seed}:{index // _BLOCK}")
        self.index = index
        self.serials = {}
        rng = self.rng
        known = DEMO_CUSTOMERS[index] if index < len(DEMO_CUSTOMERS) else None
        if known is not None:
            org = _ORG_BY_ID[known.org_id]
            brand_index = next(
                (i for i, b in enumerate(org.brands) if b.id == known.brand_id), None
            )
            children = tuple(_ORG_BY_ID[org_id] for org_id in known.registered_at)
        else:
            org, brand_index, children = _PLACEMENT[index % len(_PLACEMENT)]
        brand = org.brands[brand_index] if brand_index is not None else None
        customer_id = known.id if known else self.uuid(_ID_CUSTOMER, index)
        profile = self._profile(index, number, org, known)
        at = self.now - timedelta(days=rng.randrange(30, 1500), seconds=rng.randrange(86400))
        chunk.customers.append(
            {
                "id": customer_id,
                "org_id": org.org.id,
                "brand_id": brand.id if brand else None,
                "version": 1,
                "change_seq": change_seq,
                "created_at": at,
                "updated_at": at,
                "store_credit_owed": 0,
                **profile_columns(profile),
            }
        )
        for place in (org, *children):
            chunk.registrations.append(
                {
                    "customer_id": customer_id,
                    "org_id": place.org.id,
                    "label": "Member" if place is not org else "",
                    "status": rng.choice(("", "Silver", "Gold")) if place is not org else "",
                    "custom_fields": _private_field_values(place, index),
                    "registered_at": at,
                }
            )
        self._identifiers(chunk, index, org, customer_id, profile, known)
        self._accounts(chunk, index, org, brand, children, customer_id, profile, known)

    def _profile(
        self, index: int, number: int, org: DemoOrg, known: DemoCustomer | None
    ) -> CustomerProfile:
        rng = self.rng
        if known is not None:
            first, last, mobile = known.first_name, known.last_name, known.mobile
        else:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            area = _AREA_CODES[index % len(_AREA_CODES)]
            line = index // len(_AREA_CODES)
            mobile = f"+1{area}{200 + line // 10_000}{line % 10_000:04d}"
        active = rng.random() >= 0.03 if known is None else known.active
        vip = (known is not None and known.role.startswith("VIP")) or rng.random() < 0.05
        tags = ["VIP", *rng.choice(_TAGS)] if vip else list(rng.choice(_TAGS))
        house = (known is not None and known.house_account) or rng.random() < 0.05
        category = _CATEGORIES[2] if vip else rng.choice(_CATEGORY_ODDS)
        email_user = _email_name(first, last)
        update: dict[str, Any] = {
            "customer_number": f"C{number:08d}",
            "first_name": first,
            "last_name": last,
            "company": rng.choice(_COMPANIES) if rng.random() < 0.12 else "",
            "mobile": mobile if known or rng.random() < 0.92 else None,
            "phone": (
                f"+1{mobile[2:5]}{600 + index // 80_000}{index // 8 % 10_000:04d}"
                if rng.random() < 0.15
                else None
            ),
            "email": (
                f"{email_user}@example.com"
                if known
                else f"{email_user}{index}@example.com"
                if rng.random() < 0.8
                else None
            ),
            "address": rng.choice(self.addresses),
            "drivers_license": f"D{rng.randrange(10**7):07d}" if rng.random() < 0.1 else "",
            "date_of_birth": (
                date(1940, 1, 1) + timedelta(days=rng.randrange(23_000))
                if rng.random() < 0.7
                else None
            ),
            "comments": rng.choice(_COMMENTS) if rng.random() < 0.05 else "",
            "store_credit_limit": rng.choice((20_000, 50_000, 100_000)) if house else 0,
            "transaction_limit": (
                rng.choice((10_000, 25_000, 50_000)) if vip or rng.random() < 0.04 else None
            ),
            "tags": tags,
            "flags": self.flags[
                (
                    active,
                    vip,
                    known.go_green if known is not None else rng.random() < 0.3,
                    rng.random() < 0.95 or vip or (known is not None and known.showcase),
                    rng.random() < 0.4,
                )
            ],
            "promotion_category_id": _category_id(org, category),
            "custom_fields": _shared_field_values(org, index),
        }
        return self.template.model_copy(update=update)

    def _identifiers(
        self,
        chunk: _Chunk,
        index: int,
        org: DemoOrg,
        customer_id: UUID,
        profile: CustomerProfile,
        known: DemoCustomer | None,
    ) -> None:
        if known is not None:
            cards = [
                (IdentifierKind.BARCODE, known.barcode),
                (IdentifierKind.MAGSTRIPE, known.magstripe),
                (IdentifierKind.RFID, known.rfid),
                (IdentifierKind.PHONE, known.mobile),
            ]
        else:
            cards = [(IdentifierKind.BARCODE, _ean13(f"29{index:010d}"))]
            if index % 3 == 0:
                cards.append((IdentifierKind.MAGSTRIPE, f"7001{index:012d}"))
            if index % 4 == 1:
                cards.append((IdentifierKind.RFID, f"3C{index:08X}"))
            if index % 10 == 5 and profile.mobile:
                cards.append((IdentifierKind.PHONE, profile.mobile))
        for kind, value in cards:
            chunk.identifiers.append(self._card(org, kind, value, customer_id, active=True))
        if known is not None and known.blocked_barcode is not None:
            blocked = known.blocked_barcode
        elif known is None and index % 50 == 7:
            blocked = _ean13(f"28{index:010d}")
        else:
            return
        chunk.identifiers.append(
            self._card(org, IdentifierKind.BARCODE, blocked, customer_id, active=False)
        )

    @staticmethod
    def _card(
        org: DemoOrg, kind: IdentifierKind, value: str, customer_id: UUID, *, active: bool
    ) -> dict[str, Any]:
        status = IdentifierStatus.ACTIVE if active else IdentifierStatus.BLOCKED
        return identifier_row(
            kind,
            value,
            status,
            customer_id=customer_id,
            org_id=org.org.id,
            family_id=family_id(org.org),
        )

    def _accounts(
        self,
        chunk: _Chunk,
        index: int,
        org: DemoOrg,
        brand: Brand | None,
        children: tuple[DemoOrg, ...],
        customer_id: UUID,
        profile: CustomerProfile,
        known: DemoCustomer | None,
    ) -> None:
        rng = self.rng
        at = self.now - timedelta(days=400)
        shops = _shops(org, brand, children)
        if profile.flags.loyalty_enabled and (known is not None or index % 2 == 0):
            for _, _, account in shops:
                if (customer_id, account) not in chunk.points:
                    self._points(
                        chunk, customer_id, account, rng.randrange(50, 5000), at, "opening"
                    )
        card = None
        if index in _KNOWN_CARD_LIMITS or (known is None and index % 10 == 3):
            per_event, per_season = _KNOWN_CARD_LIMITS.get(
                index, (rng.choice((None, 5_000, 10_000)), rng.choice((None, 50_000)))
            )
            card = {
                "customer_id": customer_id,
                "card_number": f"6039{index:012d}",
                "currency": org.org.currency,
                "balance": (
                    50_000
                    if known is not None and known.showcase
                    else rng.choice((5_000, 10_000, 25_000, 50_000))
                ),
                "per_event_limit": per_event,
                "reset_after_event": rng.random() < 0.8,
                "per_season_limit": per_season,
            }
            chunk.cards.append(card)
            chunk.card_ledger.append(
                {
                    "op_id": self.op_id(),
                    "customer_id": customer_id,
                    "delta": card["balance"],
                    "reason": "card load",
                    "event_id": None,
                    "season_id": None,
                    "till_id": None,
                    "at": at,
                }
            )
        if profile.store_credit_limit:
            self._house_account(chunk, customer_id, profile, at, owes=known is not None)
        if known is not None or index % 200 == 11:
            self._suites(chunk, customer_id)
        if known is not None and known.showcase:
            self._showcase(chunk, shops, customer_id, profile, card)
        elif known is not None or index % 20 == 0:
            for _ in range(1 if known is None and rng.random() < 0.4 else rng.randrange(2, 6)):
                days = rng.randrange(0, 3) if known is not None else rng.randrange(0, 365)
                self._sale(chunk, rng.choice(shops), customer_id, profile, card, days_ago=days)

    def _showcase(
        self,
        chunk: _Chunk,
        shops: tuple[_Shop, ...],
        customer_id: UUID,
        profile: CustomerProfile,
        card: dict[str, Any] | None,
    ) -> None:
        """A store's demo customer: saved wallet cards, sales over half a year, and one at
        tonight's event paid partly from the stored-value card, so its per-event and
        per-season limits show as partly used."""
        for brand, last4, month, year, label in _SHOWCASE_WALLET:
            chunk.wallet.append(
                {
                    "id": self.new_id(_ID_WALLET),
                    "customer_id": customer_id,
                    "brand": brand,
                    "last4": last4,
                    "exp_month": month,
                    "exp_year": year,
                    "token": f"tok_demo_{customer_id.hex[-8:]}_{last4}",
                    "label": label,
                    "created_at": self.now - timedelta(days=200),
                }
            )
        for n, days in enumerate(_SHOWCASE_HISTORY_DAYS):
            self._sale(chunk, shops[n % len(shops)], customer_id, profile, card, days_ago=days)
        self._sale(chunk, shops[0], customer_id, profile, card, days_ago=0, tonight=True)

    def _points(
        self,
        chunk: _Chunk,
        customer_id: UUID,
        account: str,
        delta: int,
        at: datetime,
        reason: str,
        op_id: UUID | None = None,
    ) -> None:
        key = (customer_id, account)
        chunk.points[key] = chunk.points.get(key, 0) + delta
        chunk.points_ledger.append(
            {
                "op_id": op_id or self.op_id(),
                "customer_id": customer_id,
                "account": account,
                "delta": delta,
                "reason": reason,
                "till_id": None,
                "at": at,
            }
        )

    def _house_account(
        self,
        chunk: _Chunk,
        customer_id: UUID,
        profile: CustomerProfile,
        at: datetime,
        *,
        owes: bool,
    ) -> None:
        rng = self.rng
        for n in range(rng.randrange(1, 3)):
            user = AuthorizedUser(
                id=self.new_id(_ID_USER),
                first_name=rng.choice(_FIRST),
                last_name=profile.last_name,
                phone=(
                    f"+1{profile.mobile[2:5]}556{rng.randrange(10_000):04d}"
                    if profile.mobile
                    else None
                ),
                allow_invoicing=n == 0,
                allow_preorders=rng.random() < 0.5,
            )
            chunk.users.append({"customer_id": customer_id, **user.model_dump()})
        if owes or rng.random() < 0.35:
            owed = rng.randrange(1_000, profile.store_credit_limit // 2)
            chunk.customers[-1]["store_credit_owed"] = owed
            chunk.credit_ledger.append(
                {
                    "op_id": self.op_id(),
                    "customer_id": customer_id,
                    "delta": owed,
                    "reason": "house account charge",
                    "authorized_user_id": None,
                    "till_id": None,
                    "at": at,
                }
            )

    def _suites(self, chunk: _Chunk, customer_id: UUID) -> None:
        rng = self.rng
        suite = f"Suite {rng.randrange(1, 40)}"
        for days, name in ((-30, "Season opener"), (0, "Tonight's game"), (14, "Derby day")):
            starts = self.now.replace(minute=0, second=0, microsecond=0) + timedelta(
                days=days, hours=-1 if days == 0 else 18
            )
            chunk.suites.append(
                {
                    "id": self.new_id(_ID_SUITE),
                    "customer_id": customer_id,
                    "name": suite,
                    "event_name": name,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=4),
                }
            )

    def _sale(
        self,
        chunk: _Chunk,
        shop: _Shop,
        customer_id: UUID,
        profile: CustomerProfile,
        card: dict[str, Any] | None,
        *,
        days_ago: int,
        tonight: bool = False,
    ) -> None:
        """A sale `days_ago` days ago, or (`tonight`) at the event running now, paid from the
        stored-value card up to half its per-event limit."""
        rng = self.rng
        org, brand, account = shop
        at = self.now - timedelta(days=days_ago, minutes=rng.randrange(1, 600))
        lines = [
            {**line, "quantity": rng.randrange(1, 4)}
            for line in rng.sample(self.menu, rng.randrange(1, 4))
        ]
        total = sum(line["quantity"] * line["unit_price"] for line in lines)
        tenders: list[Tender] = []
        op_id = self.op_id()
        event = rng.choice(self.past_events[org.org.id])
        if tonight:
            event = self.tonight[org.org.id]
            at = self.now - timedelta(minutes=rng.randrange(1, 50))
        if card is not None and card["balance"] > 0 and (rng.random() < 0.5 or tonight):
            paid = min(total, card["balance"])
            if tonight and card["per_event_limit"]:
                paid = min(paid, card["per_event_limit"] // 2)
            card["balance"] -= paid
            tenders.append(Tender(kind=TenderKind.STORED_VALUE, amount=paid))
            chunk.card_ledger.append(
                {
                    "op_id": op_id,
                    "customer_id": customer_id,
                    "delta": -paid,
                    "reason": "sale",
                    "event_id": event.id,
                    "season_id": event.season_id,
                    "till_id": _history_till(org, brand),
                    "at": at,
                }
            )
        rest = total - sum(t.amount for t in tenders)
        if rest:
            kind = TenderKind.CARD if rng.random() < 0.7 else TenderKind.CASH
            tenders.append(Tender(kind=kind, amount=rest))
        category = next(
            (c for c in _CATEGORIES if _category_id(org, c) == profile.promotion_category_id),
            None,
        )
        earned = points_earned(
            total, org.org.currency, category, loyalty_enabled=profile.flags.loyalty_enabled
        )
        if earned:
            self._points(chunk, customer_id, account, earned, at, "sale", op_id)
        chunk.sales.append(
            {
                "id": self.new_id(_ID_TRANSACTION),
                "customer_id": customer_id,
                "org_id": org.org.id,
                "brand_id": brand.id,
                "store_id": org.store_id(brand),
                "till_id": _history_till(org, brand),
                "operator_id": f"{org.org.parent_id or org.org.id}-cashier",
                "at": at,
                "currency": org.org.currency,
                "total": total,
                "lines": lines,
                "tenders": [tender.model_dump(mode="json") for tender in tenders],
                "points_earned": earned,
                "points_redeemed": 0,
                "op_id": op_id,
            }
        )


_Shop = tuple[DemoOrg, Brand, str]
"""Where a customer buys: the organization, the brand, and the points account it earns into."""


@functools.cache
def _shared_field_values(org: DemoOrg, index: int) -> dict[str, str]:
    """A Lakeside customer's parent-level field values (`DEMO_FIELDS`), from their index alone
    (no random draw, so every other customer's data stays as it was)."""
    if org is not _LAKESIDE:
        return {}
    return {
        "home_club": _HOME_CLUBS[index % len(_HOME_CLUBS)],
        "member_since": str(2010 + index % 16),
    }


def _private_field_values(place: DemoOrg, index: int) -> dict[str, str]:
    """What a Lakeside club keeps privately about a customer registered with it."""
    if place is _EAST:
        return {"locker": f"E-{index % 400 + 1:03d}"}
    if place is _WEST:
        return {"mooring": f"W{index % 60 + 1}"}
    return {}


def _shops(org: DemoOrg, brand: Brand | None, children: tuple[DemoOrg, ...]) -> tuple[_Shop, ...]:
    """The brand of a brand-owned customer; else every brand of the owner or, for a connected
    parent's customer, of the child organizations they registered with."""
    if brand is not None:
        places = [(org, brand)]
    else:
        places = [(place, b) for place in (children or (org,)) for b in place.brands]
    return tuple(
        (place, shop, points_account_brand(place.org, shop.id) or POOL_ACCOUNT)
        for place, shop in places
    )


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


def _organizations(conn: Connection, now: datetime) -> None:
    """Organizations, brands, stores, history tills, operators, seasons, events, categories."""
    for demo in DEMO_ORGS:
        admin.add_organization(conn, demo.org)
        for brand in demo.brands:
            admin.add_brand(conn, brand)
            store = admin.add_store(
                conn, Store(id=demo.store_id(brand), brand_id=brand.id, name=brand.name)
            )
            till_id = _history_till(demo, brand)
            conn.execute(
                tills.insert().values(
                    id=till_id,
                    store_id=store.id,
                    name="Till 1",
                    token_hash=hash_token(secrets.token_urlsafe(32)),
                    enrolled_at=now - timedelta(days=800),
                )
            )
            conn.execute(till_sync.insert().values(till_id=till_id, last_seq=0))
        if demo.org.parent_id is not None:
            continue  # the parent's operators work at its children's stores
        admin.add_operator(
            conn,
            org_id=demo.org.id,
            operator_id=f"{demo.org.id}-cashier",
            code=CASHIER_CODE,
            name="Casey Cashier",
            pin=CASHIER_PIN,
        )
        admin.add_operator(
            conn,
            org_id=demo.org.id,
            operator_id=f"{demo.org.id}-supervisor",
            code=SUPERVISOR_CODE,
            name="Sam Supervisor",
            pin=SUPERVISOR_PIN,
            role=Role.SUPERVISOR,
            badge=SUPERVISOR_BADGE,
        )
    for demo in DEMO_ORGS:
        calendar = _calendar(demo.org.id, now)
        for season in calendar.seasons:
            admin.add_season(conn, demo.org.id, season)
        for event in calendar.events:
            admin.add_event(conn, demo.org.id, event)
        for category in _CATEGORIES:
            admin.add_promotion_category(
                conn, demo.org.id, category.model_copy(update={"id": _category_id(demo, category)})
            )
    for definition in DEMO_FIELDS:
        define_field(conn, definition)
    for owner_id, key, value in DEMO_SETTINGS:
        put_setting(conn, owner_id, key, value)


@dataclass(frozen=True)
class _ChunkJob:
    """Customers `start` to `stop` (exclusive) of a load: what a worker needs to make them."""

    db_url: str
    seed: int
    now: datetime
    start: int
    stop: int
    first_number: int
    """Customer number of customer 0 of the load."""
    first_change: int
    """Change sequence of customer 0 of the load."""


@dataclass
class _EncodedChunk:
    """A chunk's rows ready for the driver, and its sales (numbered when written)."""

    batches: list[_Batch]
    sales: list[dict[str, Any]]
    summary: DemoSummary


def _make_chunk(dialect: Dialect, job: _ChunkJob) -> _EncodedChunk:
    """Generate and encode the customers of one chunk."""
    generator = _Generator(job.seed, job.now, _past_events(job.now))
    chunk = _Chunk()
    for index in range(job.start, job.stop):
        generator.customer(chunk, index, job.first_number + index, job.first_change + index)
    points_rows = [
        {"customer_id": customer_id, "account": account, "balance": balance}
        for (customer_id, account), balance in chunk.points.items()
    ]
    plan: list[tuple[sa.Table, list[dict[str, Any]]]] = [
        (customers, chunk.customers),
        (customer_registrations, chunk.registrations),
        (identifiers, chunk.identifiers),
        (points_accounts, points_rows),
        (points_ledger, chunk.points_ledger),
        (stored_value_cards, chunk.cards),
        (stored_value_ledger, chunk.card_ledger),
        (store_credit_ledger, chunk.credit_ledger),
        (authorized_users, chunk.users),
        (suites, chunk.suites),
        (wallet_cards, chunk.wallet),
    ]
    summary = DemoSummary(
        customers=len(chunk.customers),
        identifiers=len(chunk.identifiers),
        transactions=len(chunk.sales),
        points_ledger=len(chunk.points_ledger),
        stored_value_cards=len(chunk.cards),
        authorized_users=len(chunk.users),
        suites=len(chunk.suites),
    )
    batches = [_encoded(dialect, table, rows) for table, rows in plan if rows]
    return _EncodedChunk(batches, chunk.sales, summary)


@functools.cache
def _dialect_of(db_url: str) -> Dialect:
    return sa.create_engine(db_url).dialect


def _make_chunk_in_worker(job: _ChunkJob) -> _EncodedChunk:
    """`_make_chunk` in a worker process, which builds the dialect from the URL itself."""
    return _make_chunk(_dialect_of(job.db_url), job)


def _write_chunk(conn: Connection, chunk: _EncodedChunk) -> None:
    """Insert a generated chunk; its sales take their numbers from the CRM's counter here."""
    for batch in chunk.batches:
        conn.exec_driver_sql(batch.sql, batch.params)
    if chunk.sales:
        first = advance_counter(conn, TRANSACTION_NUMBER, len(chunk.sales)).start
        for offset, sale in enumerate(chunk.sales):
            sale["number"] = f"T{first + offset:010d}"
        batch = _encoded(conn.dialect, transactions, chunk.sales)
        conn.exec_driver_sql(batch.sql, batch.params)


def _generated(engine: Engine, jobs: list[_ChunkJob], workers: int) -> Iterator[_EncodedChunk]:
    """The chunks in order; made by `workers` processes, a few chunks ahead of the writer."""
    if workers < 1 or len(jobs) == 1:
        yield from (_make_chunk(engine.dialect, job) for job in jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        ahead: deque[Future[_EncodedChunk]] = deque()
        pending = iter(jobs)
        for job in itertools.islice(pending, workers + 1):
            ahead.append(pool.submit(_make_chunk_in_worker, job))
        while ahead:
            done = ahead.popleft().result()
            for job in itertools.islice(pending, 1):
                ahead.append(pool.submit(_make_chunk_in_worker, job))
            yield done


def load_demo_data(
    engine: Engine,
    *,
    customers_count: int,
    seed: int = 1,
    now: datetime | None = None,
    chunk_size: int = CHUNK,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Load the demo organizations and `customers_count` customers into a migrated database.

    Deterministic for a given `seed` and `now` (default: the current time; events, suites and
    history are placed around it), whatever `chunk_size` (a multiple of 1,000) and `workers`
    (processes generating chunks while this one writes; default: one per CPU, none for a
    single chunk). Raises `DemoAlreadyLoadedError` on a database that has the demo already.
    `progress` is called with the number of customers written after each chunk.
    """
    if not len(DEMO_CUSTOMERS) <= customers_count <= MAX_DEMO_CUSTOMERS:
        raise ValueError(
            f"customers must be between {len(DEMO_CUSTOMERS)} and {MAX_DEMO_CUSTOMERS}"
        )
    if chunk_size < _BLOCK or chunk_size % _BLOCK:
        raise ValueError(f"chunk_size must be a multiple of {_BLOCK}")
    now = now or datetime.now(UTC)
    with writing(engine) as conn:
        taken = conn.execute(
            sa.select(organizations.c.id).where(organizations.c.id == _VENUES.org.id)
        ).first()
        if taken is not None:
            raise DemoAlreadyLoadedError("the demo data is already loaded in this database")
        _organizations(conn, now)
        first_number = advance_counter(conn, "customer_number", customers_count).start
        first_change = advance_counter(conn, "changes", customers_count).start
    db_url = engine.url.render_as_string(hide_password=False)
    jobs = [
        _ChunkJob(
            db_url,
            seed,
            now,
            start,
            min(start + chunk_size, customers_count),
            first_number,
            first_change,
        )
        for start in range(0, customers_count, chunk_size)
    ]
    summary = DemoSummary()
    workers = (os.cpu_count() or 1) if workers is None else workers
    with _loading_connection(engine) as conn, _search_index_built_after(conn):
        for chunk in _generated(engine, jobs, workers):
            with conn.begin():
                _write_chunk(conn, chunk)
            summary.add(chunk.summary)
            if progress is not None:
                progress(summary.customers)
    return summary


@contextmanager
def _loading_connection(engine: Engine) -> Iterator[Connection]:
    """One connection for the whole load, tuned for it on SQLite and put back as it was.

    A large page cache keeps the growing indexes in memory. While no other connection is
    open, the load writes through a rollback journal instead of the write-ahead log: pages
    appended to a new database are then written once, not first to the log and again at
    the checkpoint, which halves the disk traffic of a million customers. `synchronous=NORMAL`
    leaves out the per-commit sync that buys nothing here: a crash may lose the last chunks
    (the load is run again), never corrupt the file. All of it is set on the driver's
    connection because SQLite refuses to change these inside a transaction.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        saved = {
            pragma: raw.execute(f"PRAGMA {pragma}").fetchone()[0]
            for pragma in ("synchronous", "cache_size")
        }
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        try:
            journal = raw.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:  # another connection has the database open
            journal = "wal"
        try:
            yield conn
        finally:
            if journal != "wal":
                raw.execute("PRAGMA journal_mode=WAL")
            for pragma, value in saved.items():
                raw.execute(f"PRAGMA {pragma}={int(value)}")


_SEARCH_INSERT_TRIGGER = "customers_search_insert"
"""Migration 0002's trigger that indexes each new customer for search on SQLite."""

_REBUILD_SEARCH = "INSERT INTO customers_search (customers_search) VALUES ('rebuild')"
"""FTS5's command to index its whole content table (`customers`) anew."""


@contextmanager
def _search_index_built_after(conn: Connection) -> Iterator[None]:
    """On SQLite, index the loaded customers for search once, after the load.

    The FTS5 trigram index was kept in step row by row by a trigger, which cost most of a
    million-customer load; one `rebuild` from the customers table at the end costs a
    fraction of it and gives the same index. The trigger is dropped for the load and made
    again from its own stored definition, also when the load fails (the rebuild then indexes
    whatever was committed). Other databases keep their index as it is.
    """
    definition = None
    if conn.dialect.name == "sqlite":
        definition = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (_SEARCH_INSERT_TRIGGER,),
        ).scalar_one_or_none()
        conn.rollback()  # end the read's transaction: each chunk begins its own
    if definition is None:
        yield
        return
    with conn.begin():
        conn.exec_driver_sql(f"DROP TRIGGER {_SEARCH_INSERT_TRIGGER}")
    try:
        yield
    finally:
        with conn.begin():
            conn.exec_driver_sql(_REBUILD_SEARCH)
            conn.exec_driver_sql(definition)
