"""The till's copy of the customers in its scope, and every way a cashier looks one up.

Pull pages (`CustomerCache.parse_page`, `store_page`) and the till's own offline writes
(`CustomerCache.store`) are stored inside the caller's write transaction: a page lands whole
with its cursor, a local edit lands with its outbox op. Each customer is kept as the JSON of
its `CustomerOut` (the profile screen, validated when read) beside the columns lookups use:
B-tree indexes on the normalized phones, the reversed mobile (last digits) and the customer
number, NOCASE indexes on the names, and an FTS5 trigram index on name, email, company and
number for substring search.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from tillcrm.api import CustomerOut, CustomerSummary
from tillcrm.domain import (
    IdentifierKind,
    IdentifierStatus,
    InvalidPhoneError,
    normalize_phone,
    phone_digits,
)
from tillcrm.domain.customer import E164_PATTERN
from tillcrm.local import bulk_load
from tillcrm.local.db import TillDatabase

__all__ = [
    "STORED_VALUE",
    "STORE_CREDIT_OWED",
    "CachedBalance",
    "CustomerCache",
    "CustomerPage",
    "phone_shape",
    "points_account",
]

STORED_VALUE = "stored_value"
"""The `accounts.account` of the stored-value card balance."""
STORE_CREDIT_OWED = "store_credit_owed"
"""The `accounts.account` of the house-account debt."""

_MIN_TRIGRAM = 3
"""Shorter queries cannot use the trigram index: they become name and number prefixes."""
_PHONE_TEXT = re.compile(r"^\+?[\d\s().-]+$")
_MIN_FULL_PHONE = 7
"""Fewer digits than this are read as the end of a phone number, not a whole one."""
_MIN_LAST_DIGITS = 3

_SUMMARY = (  # a constant column list: the f-strings below never take input
    "c.id, c.customer_number, c.first_name, c.last_name, c.company, c.mobile, c.email, "
    "c.points, c.active"
)


def phone_shape(text: str) -> Literal["whole", "last_digits"] | None:
    """How typed text reads as a phone number: a whole number (seven digits or more), the
    last digits of one (three to six), or not a phone at all (other characters than digits,
    spaces, `+().-`, or too few digits)."""
    if not _PHONE_TEXT.match(text):
        return None
    digits = len(phone_digits(text))
    if digits >= _MIN_FULL_PHONE:
        return "whole"
    return "last_digits" if digits >= _MIN_LAST_DIGITS else None


def points_account(brand_id: str | None) -> str:
    """The `accounts.account` of a points balance: the shared pool, or one brand's wallet."""
    return "points" if brand_id is None else f"points:{brand_id}"


@dataclass(frozen=True)
class CachedBalance:
    """A balance as the CRM last reported it; `read_at` decides whether it may back an
    offline debit (the offline policy's maximum age)."""

    account: str
    balance: int
    read_at: datetime


class CustomerCache:
    """Reads and writes the cached customers of one till."""

    def __init__(self, db: TillDatabase, *, phone_region: str = "US") -> None:
        self._db = db
        self._region = phone_region

    # -- writing -----------------------------------------------------------------------------

    @staticmethod
    def store(
        conn: sqlite3.Connection, customers: Sequence[CustomerOut], *, now: datetime | None = None
    ) -> None:
        """Insert or replace the till's own view of `customers` (an offline edit, a debit, a
        customer fetched online) inside the caller's write transaction."""
        records = [c.model_dump_json(exclude_defaults=True) for c in customers]
        _store(conn, CustomerPage.of([_ONE.decode(r) for r in records], records), now)

    @staticmethod
    def parse_page(body: bytes | str) -> CustomerPage:
        """A pull page's customers, checked for what the cache indexes (id, version, names,
        phones, identifiers, balances) straight from the bytes; the rest is kept as sent and
        validated when a profile is read, one customer at a time: the CRM validated it on
        write, and checking every field of a whole scope costs more than the rest of the
        first pull. Raises `ValueError` (msgspec's `ValidationError`, which names the field
        and the customer's place in the page) when an indexed field is malformed, or when the
        body is not JSON."""
        indexed = _PAGE.decode(body).customers
        records = [str(record, "utf-8") for record in _RECORDS.decode(body).customers]
        return CustomerPage.of(indexed, records)

    @staticmethod
    def store_page(
        conn: sqlite3.Connection,
        page: CustomerPage,
        *,
        skip: Collection[str] = (),
        now: datetime | None = None,
    ) -> int:
        """Insert or replace a pull page's customers but those whose id is in `skip`, inside
        the caller's write transaction (with the page's cursor); returns how many."""
        kept = [i for i, key in enumerate(page.ids) if key not in skip]
        if len(kept) < len(page.ids):
            page = CustomerPage(
                [page.indexed[i] for i in kept],
                [page.records[i] for i in kept],
                [page.ids[i] for i in kept],
            )
        _store(conn, page, now)
        return len(kept)

    # -- single customers --------------------------------------------------------------------

    def get(self, customer_id: UUID) -> CustomerOut | None:
        """The cached customer with this id, active or not (history still opens)."""
        return self._one("SELECT record FROM customers WHERE id = ?", (str(customer_id),))

    def by_identifier(self, kind: IdentifierKind, value: str) -> CustomerOut | None:
        """The customer an active card, tag or phone identifier belongs to; a blocked one
        identifies nobody. An inactive customer's card still identifies them, as the CRM's
        identify does: the till shows them as inactive (no transactions without a supervisor)
        rather than as a stranger whose card could be registered again."""
        return self._one(
            "SELECT c.record FROM identifiers i JOIN customers c ON c.id = i.customer_id "
            "WHERE i.kind = ? AND i.value = ? AND i.status = ?",
            (kind.value, value, IdentifierStatus.ACTIVE.value),
        )

    def by_number(self, number: str, *, include_inactive: bool = False) -> CustomerOut | None:
        """The customer with exactly this customer number."""
        return self._one(
            "SELECT record FROM customers c WHERE customer_number = ? AND (active OR ?)",
            (number.strip(), include_inactive),
        )

    def balance(self, customer_id: UUID, account: str) -> CachedBalance | None:
        """One cached balance with the time the CRM read it."""
        rows = self._db.read(
            "SELECT balance, read_at FROM accounts WHERE customer_id = ? AND account = ?",
            (str(customer_id), account),
        )
        if not rows:
            return None
        return CachedBalance(account, int(rows[0][0]), datetime.fromisoformat(rows[0][1]))

    def count(self) -> int:
        """How many customers are cached."""
        return int(self._db.read("SELECT count(*) FROM customers")[0][0])

    # -- lists -------------------------------------------------------------------------------

    def by_phone(
        self, raw: str, *, include_inactive: bool = False, limit: int = 50
    ) -> list[CustomerSummary]:
        """Customers whose mobile or phone is this number, typed in any format.

        Raises `InvalidPhoneError` when `raw` is not a phone number.
        """
        e164 = normalize_phone(raw, self._region)
        return self._summaries(
            f"SELECT {_SUMMARY} FROM customers c WHERE (c.mobile = ? OR c.phone = ?) "  # noqa: S608
            "AND (c.active OR ?) LIMIT ?",
            (e164, e164, include_inactive, limit),
        )

    def by_last_digits(
        self, digits: str, *, include_inactive: bool = False, limit: int = 50
    ) -> list[CustomerSummary]:
        """Customers whose mobile ends with these digits (a prefix of the reversed number)."""
        reversed_prefix = phone_digits(digits)[::-1]
        if not reversed_prefix:
            return []
        return self._summaries(
            f"SELECT {_SUMMARY} FROM customers c "  # noqa: S608
            "WHERE c.mobile_rev >= ? AND c.mobile_rev < ? "
            "AND (c.active OR ?) LIMIT ?",
            # ':' sorts right after '9': every digit string starting with the prefix is below.
            (reversed_prefix, reversed_prefix + ":", include_inactive, limit),
        )

    def by_text(
        self, text: str, *, include_inactive: bool = False, limit: int = 50
    ) -> list[CustomerSummary]:
        """Customers whose name, email, company or number contains `text` (any case).

        One or two characters cannot use the trigram index: they match the start of the
        first name, last name or customer number instead.
        """
        text = " ".join(text.split())
        if not text:
            return []
        if len(text) < _MIN_TRIGRAM:
            like = re.sub(r"([\\%_])", r"\\\1", text) + "%"
            glob = re.sub(r"([*?\[])", r"[\1]", text) + "*"
            return self._summaries(
                f"SELECT {_SUMMARY} FROM customers c "  # noqa: S608
                "WHERE (c.first_name LIKE ? ESCAPE '\\' "
                "OR c.last_name LIKE ? ESCAPE '\\' OR c.customer_number GLOB ?) "
                "AND (c.active OR ?) LIMIT ?",
                (like, like, glob, include_inactive, limit),
            )
        phrase = '"' + text.replace('"', '""') + '"'
        return self._summaries(
            f"SELECT {_SUMMARY} FROM customer_text t "  # noqa: S608
            "JOIN customers c ON c.rowid = t.rowid "
            "WHERE customer_text MATCH ? AND (c.active OR ?) LIMIT ?",
            (phrase, include_inactive, limit),
        )

    def search(
        self, query: str, *, include_inactive: bool = False, limit: int = 50
    ) -> list[CustomerSummary]:
        """What the cashier's search box finds: a whole phone number, the last digits of one,
        and any name, email, company or number containing the text, without duplicates."""
        query = query.strip()
        found: dict[UUID, CustomerSummary] = {}
        shape = phone_shape(query)
        if shape == "whole":
            try:
                for row in self.by_phone(query, include_inactive=include_inactive, limit=limit):
                    found.setdefault(row.id, row)
            except InvalidPhoneError:
                pass
        elif shape == "last_digits":
            digits = phone_digits(query)
            for row in self.by_last_digits(digits, include_inactive=include_inactive, limit=limit):
                found.setdefault(row.id, row)
        if len(found) < limit:
            for row in self.by_text(query, include_inactive=include_inactive, limit=limit):
                found.setdefault(row.id, row)
        return list(found.values())[:limit]

    # -- plumbing ----------------------------------------------------------------------------

    def _one(self, sql: str, params: tuple[object, ...]) -> CustomerOut | None:
        rows = self._db.read(sql, params)
        return CustomerOut.model_validate_json(rows[0][0]) if rows else None

    def _summaries(self, sql: str, params: tuple[object, ...]) -> list[CustomerSummary]:
        return [
            CustomerSummary(
                id=UUID(row["id"]),
                customer_number=row["customer_number"],
                first_name=row["first_name"],
                last_name=row["last_name"],
                company=row["company"],
                mobile=row["mobile"],
                email=row["email"],
                points=row["points"],
                active=bool(row["active"]),
            )
            for row in self._db.read(sql, params)
        ]


_CUSTOMER_COLUMNS = (
    "customer_number", "first_name", "last_name", "company", "email", "mobile", "mobile_rev",
    "phone", "active", "points", "version", "record", "synced_at",
)  # fmt: skip
"""The columns an update replaces: all but the id, so the row keeps its rowid, which is its
row in the trigram index."""


class _Flags(msgspec.Struct, frozen=True, gc=False):
    active: bool = True


_E164 = Annotated[str, msgspec.Meta(pattern=E164_PATTERN)]


class _Profile(msgspec.Struct, frozen=True, gc=False):
    customer_number: str | None = None
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    mobile: _E164 | None = None
    phone: _E164 | None = None
    email: str | None = None
    flags: _Flags = _Flags()


class _Identifier(msgspec.Struct, frozen=True, gc=False):
    kind: IdentifierKind
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    status: IdentifierStatus = IdentifierStatus.ACTIVE


class _Points(msgspec.Struct, frozen=True, gc=False):
    brand_id: str | None
    balance: int


class _Balances(msgspec.Struct, frozen=True, gc=False):
    as_of: datetime
    points: tuple[_Points, ...] = ()
    stored_value: int | None = None
    store_credit_owed: int = 0


class _Indexed(msgspec.Struct, frozen=True, gc=False):
    """The part of a `CustomerOut` the cache's columns and tables are made of, with the same
    constraints (and strict JSON types: a number must be a number). msgspec structs, not
    pydantic TypedDicts: decoded straight from the bytes, other fields skipped, they cost far
    less (docs/performance.md). `gc=False`: they hold no reference back to anything, and
    tracking a page's thousands of them for the cycle collector cost as much as decoding
    them."""

    id: UUID
    version: int
    profile: _Profile
    balances: _Balances
    identifiers: tuple[_Identifier, ...] = ()


class _Page(msgspec.Struct, frozen=True, gc=False):
    customers: list[_Indexed]


class _Records(msgspec.Struct, frozen=True, gc=False):
    customers: list[msgspec.Raw]
    """Each customer's JSON as sent, cut out of the page without being decoded."""


_PAGE = msgspec.json.Decoder(_Page)
_RECORDS = msgspec.json.Decoder(_Records)
_ONE = msgspec.json.Decoder(_Indexed)


@dataclass(frozen=True)
class CustomerPage:
    """A pull page's customers: what the cache indexes, checked, and each one's JSON as sent."""

    indexed: list[_Indexed]
    records: list[str]
    ids: list[str]
    """The customers' ids as text, in page order (made once: the outbox check and every
    statement of `_store` use them)."""

    @classmethod
    def of(cls, indexed: list[_Indexed], records: list[str]) -> CustomerPage:
        """The page of these checked customers and their JSON texts."""
        return cls(indexed, records, [str(c.id) for c in indexed])

    def __len__(self) -> int:
        return len(self.indexed)


def _store(conn: sqlite3.Connection, page: CustomerPage, now: datetime | None) -> None:
    """Insert or replace the customers of a checked page.

    A replaced customer's identifiers, balances and search row are rebuilt from the new
    record, so nothing stale survives (a blocked card, a changed name). The statements work on
    the whole batch at once: this is also the path of the first pull, which a bulk load
    (`bulk_load`) spares the search rows and the secondary indexes.
    """
    if not page.ids:
        return
    synced_at = (now or datetime.now(UTC)).isoformat()
    indexed, records, keys = page.indexed, page.records, page.ids
    ids = json.dumps(keys)
    bulk = bulk_load.in_progress(conn)
    replaced = conn.execute(
        "SELECT rowid FROM customers WHERE id IN (SELECT value FROM json_each(?))", (ids,)
    ).fetchall()
    if replaced:
        if not bulk:
            # The search index reads a row's old text from the customer to take it out, so
            # this comes before the customer changes; during a bulk load the customer has no
            # search row yet (taking out one never put in would corrupt the index).
            conn.executemany("DELETE FROM customer_text WHERE rowid = ?", replaced)
        conn.execute(
            "DELETE FROM identifiers WHERE customer_id IN (SELECT value FROM json_each(?))",
            (ids,),
        )
        conn.execute(
            "DELETE FROM accounts WHERE customer_id IN (SELECT value FROM json_each(?))", (ids,)
        )
    conn.executemany(
        "INSERT INTO customers (id, customer_number, first_name, last_name, company, email, "
        "mobile, mobile_rev, phone, active, points, version, record, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in _CUSTOMER_COLUMNS),
        map(_customer_row, keys, indexed, records, repeat(synced_at)),
    )
    conn.executemany(
        "INSERT INTO identifiers (kind, value, customer_id, status) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kind, value) DO UPDATE SET "
        "customer_id = excluded.customer_id, status = excluded.status",
        [
            (card.kind.value, card.value, key, card.status.value)
            for key, c in zip(keys, indexed, strict=True)
            for card in c.identifiers
        ],
    )
    read_at = _ReadAt()
    conn.executemany(
        "INSERT INTO accounts (customer_id, account, balance, read_at) VALUES (?, ?, ?, ?)",
        [
            row
            for key, c in zip(keys, indexed, strict=True)
            for row in _account_rows(key, c.balances, read_at[c.balances.as_of])
        ],
    )
    # The search rows in one statement, from the columns just written; a bulk load makes
    # them all when it finishes.
    if not bulk:
        conn.execute(_SEARCH_ROWS, (ids,))


_SEARCH_ROWS = (
    "INSERT INTO customer_text (rowid, name, email, company, number) "
    "SELECT customer_rowid, name, email, company, number FROM customer_text_source "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
"""The trigram index's rows of the customers whose ids are in the JSON array, made from their
columns by the view the index reads its text from."""


def _customer_row(key: str, customer: _Indexed, record: str, synced_at: str) -> tuple[object, ...]:
    profile = customer.profile
    mobile = profile.mobile
    points = customer.balances.points
    return (
        key,
        profile.customer_number or "",
        profile.first_name,
        profile.last_name,
        profile.company,
        profile.email,
        mobile,
        # The E.164 check passed: '+' and digits, so the digits reversed are all but the '+'.
        mobile[:0:-1] if mobile else None,
        profile.phone,
        int(profile.flags.active),  # sqlite3 binds a bool only after a failed adapter lookup
        points[0].balance if points else 0,
        customer.version,
        record,
        synced_at,
    )


class _ReadAt(dict[datetime, str]):
    """The `accounts.read_at` text of each `as_of` met, made once: a page's customers were
    mostly read by the CRM at the same time, and formatting it was a tenth of storing one."""

    def __missing__(self, as_of: datetime) -> str:
        text = self[as_of] = as_of.astimezone(UTC).isoformat()
        return text


def _account_rows(key: str, balances: _Balances, read_at: str) -> list[tuple[str, str, int, str]]:
    rows = [(key, points_account(p.brand_id), p.balance, read_at) for p in balances.points]
    if balances.stored_value is not None:
        rows.append((key, STORED_VALUE, balances.stored_value, read_at))
    rows.append((key, STORE_CREDIT_OWED, balances.store_credit_owed, read_at))
    return rows
