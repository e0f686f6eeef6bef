"""Customers: identify, search, read, create, edit; purchase history and receipts.

Every path filters with the till's scope, so a customer out of scope is not found (404).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from tillcrm.api import (
    REGISTERED_AT_PARENT,
    CustomerCreate,
    CustomerCreatePayload,
    CustomerOut,
    CustomerPatch,
    CustomerRegister,
    CustomerSummary,
    CustomerUpdatePayload,
    FieldProblem,
    IdentifyResult,
    MembershipUpdate,
    Op,
    OpType,
    Page,
    Receipt,
    RegisterPayload,
    TransactionSummary,
)
from tillcrm.domain import (
    NO_NUL,
    IdentifierKind,
    IdentifierStatus,
    InvalidPhoneError,
    Moment,
    Organization,
    Store,
    Tender,
    TransactionLine,
    normalize_phone,
    phone_digits,
)
from tillcrm.server.context import CurrentTill, Till, engine_of
from tillcrm.server.customer_view import as_utc, customer_out, own_org_ids, points_account_key
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.openapi import error_responses
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.rest_writes import IdempotencyKey, OperatorId, apply_op, make_op
from tillcrm.server.scope import require_visible_customer, visible_to
from tillcrm.server.tables import (
    customers,
    customers_search,
    identifiers,
    operators,
    points_accounts,
    stores,
    tills,
    transactions,
)

router = APIRouter(route_class=JsonLimitsRoute, responses=error_responses(401, 422))

Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=200)]

_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]+$")
MIN_SUFFIX_DIGITS = 4
"""Fewer trailing digits than this would match too many customers to be a useful lookup."""
TRIGRAM = 3
"""The shortest text a trigram index finds."""


def page_of(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """`items` was fetched with one row too many: that row says whether a next page exists."""
    more = len(items) > limit
    return {"items": items[:limit], "next_offset": offset + limit if more else None}


# -- identify -----------------------------------------------------------------------------------


def _by_phone(conn: Connection, till: Till, value: str) -> Row[Any] | None:
    """The customer whose mobile is this number, else the one holding it as a phone
    identifier, else the one whose landline it is (active and recent ones first where several
    share a number). Each is an index lookup: (org, mobile), the identifier's key, (org, phone).
    """
    try:
        e164 = normalize_phone(value)
    except InvalidPhoneError as exc:
        raise ApiError(
            422, "invalid", str(exc), [FieldProblem(field="value", message=str(exc))]
        ) from exc
    row = _first_with(conn, till, customers.c.mobile == e164)
    if row is None:
        row = _by_card(conn, till, IdentifierKind.PHONE, e164)
    if row is None:
        row = _first_with(conn, till, customers.c.phone == e164)
    return row


def _first_with(conn: Connection, till: Till, match: ColumnElement[bool]) -> Row[Any] | None:
    """The active, most recently changed customer in scope that `match`es."""
    return conn.execute(
        sa.select(customers)
        .where(match, visible_to(till))
        .order_by(customers.c.active.desc(), customers.c.updated_at.desc())
        .limit(1)
    ).first()


def _by_card(conn: Connection, till: Till, kind: IdentifierKind, value: str) -> Row[Any] | None:
    """The customer holding this card or tag; 410 Gone `blocked` for a blocked one in scope.

    410 rather than 404: the card exists and is the till's to know about (it is in scope), it
    is just no longer usable, and the till's client shows "card blocked" for a 410.
    """
    found = conn.execute(
        sa.select(customers, identifiers.c.status.label("card_status"))
        .join(identifiers, identifiers.c.customer_id == customers.c.id)
        .where(
            identifiers.c.org_id.in_(own_org_ids(till)),
            identifiers.c.kind == kind.value,
            identifiers.c.value == value,
            visible_to(till),
        )
    ).first()
    if found is None:
        return None
    if found.card_status == IdentifierStatus.BLOCKED.value:
        raise ApiError(410, "blocked", f"this {kind.value} is blocked")
    return found


@router.get("/identify", responses=error_responses(404, 410))
def identify(
    till: CurrentTill,
    request: Request,
    kind: IdentifierKind,
    value: Annotated[str, Query(min_length=1, max_length=128, pattern=NO_NUL)],
) -> IdentifyResult:
    """The customer a card, tag or phone number belongs to, as this till may see them."""
    with reading(engine_of(request)) as conn:
        row = _identified(conn, till, kind, value.strip())
        if row is None:
            raise _not_found_here(conn, till, kind, value.strip())
        return IdentifyResult(customer=customer_out(conn, till, row), kind=kind)


def _at_parent(till: Till, parent: Organization) -> Till:
    """The till as its connected parent organization sees customers (its own, not a child's)."""
    return replace(till, org=parent, parent=None)


def _not_found_here(conn: Connection, till: Till, kind: IdentifierKind, value: str) -> ApiError:
    """404 for a card or phone nobody in the till's scope has; at a connected child, a 404 that
    names the parent when the parent's customer presents it but is not yet registered here."""
    parent = till.parent
    if parent is not None and _identified(conn, _at_parent(till, parent), kind, value) is not None:
        return ApiError(404, REGISTERED_AT_PARENT, f"registered at {parent.name}, not yet here")
    return ApiError.not_found(kind.value)


def _identified(conn: Connection, till: Till, kind: IdentifierKind, value: str) -> Row[Any] | None:
    """The customer in the till's scope this phone number or card identifies."""
    if kind is IdentifierKind.PHONE:
        return _by_phone(conn, till, value)
    return _by_card(conn, till, kind, value)


# -- search -------------------------------------------------------------------------------------


def _digit_prefix_range(prefix: str) -> ColumnElement[bool]:
    """`mobile_rev` starts with `prefix`, as a range an index serves on any database.

    (`LIKE 'x%'` uses an index only under some collations; a range always does.)
    """
    lower = customers.c.mobile_rev >= prefix
    head = prefix.rstrip("9")
    if not head:
        return lower
    upper = head[:-1] + str(int(head[-1]) + 1)
    return sa.and_(lower, customers.c.mobile_rev < upper)


def _number_prefix(prefix: str) -> ColumnElement[bool]:
    """The customer number starts with `prefix`, upper-cased as the CRM generates numbers, as
    one range the (org, number) index serves: binary order on SQLite, the C collation on
    PostgreSQL. (Two ranges, as typed and upper-cased, made SQLite scan the organization.)"""
    start = prefix.upper()
    number = customers.c.customer_number
    return sa.and_(number >= start, number < start + "\U0010ffff")


def _text_matches(dialect: str, q: str) -> ColumnElement[bool]:
    """`search_text` contains `q`, served by the trigram index of migration 0002.

    On SQLite that is the FTS5 trigram table, queried with `q` as one quoted phrase (a
    substring match, `%` and `_` included literally); on PostgreSQL, `LIKE` on the GIN trigram
    index. A trigram index cannot find fewer than 3 characters, so a shorter text matches the
    start of the customer number instead (a B-tree range), never a scan of every customer.
    """
    text = q.lower()
    if len(text) < TRIGRAM:
        return _number_prefix(q)
    if dialect != "sqlite":
        return customers.c.search_text.contains(text, autoescape=True)
    phrase = '"' + text.replace('"', '""') + '"'
    matching = sa.select(customers_search.c.rowid).where(
        sa.text("customers_search MATCH :phrase").bindparams(phrase=phrase)
    )
    return sa.literal_column("customers.rowid").in_(matching)


def _phone_matches(q: str) -> ColumnElement[bool] | None:
    """For a phone-like text: mobiles ending in its digits, or the customer number itself."""
    digits = phone_digits(q)
    if not _PHONE_LIKE.match(q) or len(digits) < MIN_SUFFIX_DIGITS:
        return None
    return sa.or_(_digit_prefix_range(digits[::-1]), customers.c.customer_number == q)


@router.get("/customers")
def search(
    till: CurrentTill,
    request: Request,
    q: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = "",
    inactive: bool = False,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[CustomerSummary]:
    """Customers in scope by phone (exact or last digits), name, email, company or number."""
    engine = engine_of(request)
    points = points_accounts.alias("points")
    query = (
        sa.select(
            customers.c.id,
            customers.c.customer_number,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.company,
            customers.c.mobile,
            customers.c.email,
            sa.func.coalesce(points.c.balance, 0).label("points"),
            customers.c.active,
        )
        .outerjoin(
            points,
            sa.and_(
                points.c.customer_id == customers.c.id,
                points.c.account == points_account_key(till),
            ),
        )
        .where(visible_to(till))
        .offset(offset)
        .limit(limit + 1)
    )
    q = q.strip()
    by_phone = _phone_matches(q)
    if by_phone is not None:
        # Sort the few matches rather than walk the number index: each side of the OR then
        # has its own index (a phone suffix is a range on mobile_rev).
        query = query.where(by_phone).order_by(customers.c.customer_number.concat(""))
    elif q:
        query = query.where(_text_matches(engine.dialect.name, q))
        query = query.order_by(customers.c.customer_number)
    else:
        query = query.order_by(customers.c.customer_number)
    if not inactive:
        query = query.where(customers.c.active.is_(True))
    with reading(engine) as conn:
        rows = conn.execute(query).all()
    items = [CustomerSummary.model_validate(row._asdict()) for row in rows]
    return Page[CustomerSummary].model_validate(page_of(items, limit, offset))


# -- one customer -------------------------------------------------------------------------------


@router.post(
    "/customers", status_code=201, response_model=CustomerOut, responses=error_responses(413)
)
def create_customer(
    till: CurrentTill,
    request: Request,
    body: CustomerCreate,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> CustomerOut | JSONResponse:
    """A new customer of the till's organization (and brand, under brand scope)."""
    payload = CustomerCreatePayload(
        profile=body.profile,
        identifiers=body.identifiers,
        authorized_users=body.authorized_users,
        independent=body.independent,
    )
    op = make_op(OpType.CUSTOMER_CREATE, body.id, payload, operator_id=operator_id, key=key)
    with writing(engine_of(request)) as conn:
        return _applied(conn, till, op)


def _applied(conn: Connection, till: Till, op: Op) -> CustomerOut | JSONResponse:
    """Apply a REST write's op once; the customer as the till now sees them, or the refusal."""
    refused = apply_op(conn, till, op)
    if refused is not None:
        return refused
    return customer_out(conn, till, require_visible_customer(conn, till, op.entity_id))


@router.get("/customers/{customer_id}", responses=error_responses(404))
def get_customer(till: CurrentTill, request: Request, customer_id: UUID) -> CustomerOut:
    """One customer, as this till may see them."""
    with reading(engine_of(request)) as conn:
        return customer_out(conn, till, require_visible_customer(conn, till, customer_id))


@router.patch(
    "/customers/{customer_id}",
    response_model=CustomerOut,
    responses=error_responses(404, 409, 413),
)
def patch_customer(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    body: CustomerPatch,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> CustomerOut | JSONResponse:
    """Change profile fields; 409 with the current customer when `base_version` is stale."""
    op = make_op(
        OpType.CUSTOMER_UPDATE,
        customer_id,
        CustomerUpdatePayload(changes=body.changes),
        operator_id=operator_id,
        key=key,
        base_version=body.base_version,
    )
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        return _applied(conn, till, op)


@router.post("/customers/register", response_model=CustomerOut, responses=error_responses(404, 413))
def register_customer(
    till: CurrentTill,
    request: Request,
    body: CustomerRegister,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> CustomerOut | JSONResponse:
    """Register the connected parent's customer who presents this card or phone here.

    Only a child organization's till may; the customer is looked up among the parent's own
    (not a sibling child's private profiles or cards) and 404 when there is none.
    """
    if till.parent is None:
        raise ApiError(422, "invalid", "only a till of a connected child organization registers")
    with writing(engine_of(request)) as conn:
        found = _identified(conn, _at_parent(till, till.parent), body.kind, body.value.strip())
        if found is None:
            raise ApiError.not_found(body.kind.value)
        payload = RegisterPayload(marketing_sms=body.marketing_sms)
        op = make_op(OpType.CUSTOMER_REGISTER, found.id, payload, operator_id=operator_id, key=key)
        return _applied(conn, till, op)


@router.patch(
    "/customers/{customer_id}/membership",
    response_model=CustomerOut,
    responses=error_responses(404, 413),
)
def update_membership(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    body: MembershipUpdate,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> CustomerOut | JSONResponse:
    """Change this organization's own label, status or marketing-SMS subscription."""
    op = make_op(OpType.MEMBERSHIP_UPDATE, customer_id, body, operator_id=operator_id, key=key)
    with writing(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        return _applied(conn, till, op)


# -- history and receipts -----------------------------------------------------------------------


@router.get("/customers/{customer_id}/history", responses=error_responses(404))
def history(
    till: CurrentTill,
    request: Request,
    customer_id: UUID,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Moment | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[TransactionSummary]:
    """The customer's transactions, newest first, from `from` (inclusive) to `to` (exclusive)."""
    query = (
        sa.select(
            transactions,
            stores.c.name.label("store_name"),
            tills.c.name.label("till_name"),
        )
        .join(stores, stores.c.id == transactions.c.store_id)
        .join(tills, tills.c.id == transactions.c.till_id)
        .where(transactions.c.customer_id == customer_id)
        .order_by(transactions.c.at.desc(), transactions.c.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    if from_ is not None:
        query = query.where(transactions.c.at >= as_utc(from_))
    if to is not None:
        query = query.where(transactions.c.at < as_utc(to))
    with reading(engine_of(request)) as conn:
        require_visible_customer(conn, till, customer_id)
        rows = conn.execute(query).all()
    items = [_summary(row) for row in rows]
    return Page[TransactionSummary].model_validate(page_of(items, limit, offset))


def _summary(row: Row[Any]) -> TransactionSummary:
    return TransactionSummary.model_validate({**row._asdict(), "at": as_utc(row.at)})


@router.get("/transactions/{transaction_id}", responses=error_responses(404))
def receipt(till: CurrentTill, request: Request, transaction_id: UUID) -> Receipt:
    """One transaction as printed, if its customer is in the till's scope."""
    with reading(engine_of(request)) as conn:
        row = conn.execute(
            sa.select(
                transactions,
                stores.c.name.label("store_name"),
                tills.c.name.label("till_name"),
                operators.c.name.label("operator_name"),
            )
            .join(stores, stores.c.id == transactions.c.store_id)
            .join(tills, tills.c.id == transactions.c.till_id)
            .outerjoin(operators, operators.c.id == transactions.c.operator_id)
            .where(transactions.c.id == transaction_id)
        ).one_or_none()
        if row is None:
            raise ApiError.not_found("transaction")
        try:
            customer = require_visible_customer(conn, till, row.customer_id)
        except ApiError:
            raise ApiError.not_found("transaction") from None
        store = conn.execute(sa.select(stores).where(stores.c.id == row.store_id)).one()
    summary = _summary(row)
    return Receipt(
        **summary.model_dump(),
        customer_id=row.customer_id,
        lines=[TransactionLine.model_validate(line) for line in row.lines],
        tenders=[Tender.model_validate(tender) for tender in row.tenders],
        store=Store.model_validate(store._asdict()),
        operator_id=row.operator_id,
        operator_name=row.operator_name,
        go_green=bool(customer.profile.get("flags", {}).get("go_green", False)),
    )
