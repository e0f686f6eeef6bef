"""Customers: identify, search, read, create, edit; purchase history and receipts.

Every path filters with the till's scope, so a customer out of scope is not found (404).
The lookups live in `server.customer_lookup`, `server.customer_search` and
`server.history`; writes go through the op registry (`rest_writes.write_op`).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from tillcrm.api import (
    CustomerCreate,
    CustomerCreatePayload,
    CustomerOut,
    CustomerPatch,
    CustomerRegister,
    CustomerSummary,
    CustomerUpdatePayload,
    IdentifyResult,
    MembershipUpdate,
    OpType,
    Page,
    Receipt,
    RegisterPayload,
    TransactionSummary,
)
from tillcrm.domain import NO_NUL, IdentifierKind, Moment
from tillcrm.server.context import CurrentTill, Database
from tillcrm.server.customer_lookup import identified, parent_customer, seen_by, still_unknown
from tillcrm.server.customer_search import search_customers
from tillcrm.server.customer_view import customer_out
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.history import receipt_of, transactions_of
from tillcrm.server.openapi import error_responses
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.rest_writes import (
    IdempotencyKey,
    OperatorId,
    answer_applied,
    make_op,
    write_op,
)
from tillcrm.server.scope import require_visible_customer

router = APIRouter(route_class=JsonLimitsRoute, responses=error_responses(401, 422))

Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=200)]


def page_of(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """`items` was fetched with one row too many: that row says whether a next page exists."""
    more = len(items) > limit
    return {"items": items[:limit], "next_offset": offset + limit if more else None}


@router.get("/identify", responses=error_responses(404, 410))
def identify(
    till: CurrentTill,
    engine: Database,
    kind: IdentifierKind,
    value: Annotated[str, Query(min_length=1, max_length=128, pattern=NO_NUL)],
) -> IdentifyResult:
    """The customer a card, tag or phone number belongs to, as this till may see them."""
    with reading(engine) as conn:
        row = identified(conn, till, kind, value.strip())
        if row is None:
            raise still_unknown(conn, till, kind, value.strip())
        return IdentifyResult(customer=customer_out(conn, till, row), kind=kind)


@router.get("/customers")
def search(
    till: CurrentTill,
    engine: Database,
    q: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = "",
    inactive: bool = False,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[CustomerSummary]:
    """Customers in scope by phone (exact or last digits), name, email, company or number."""
    with reading(engine) as conn:
        items = search_customers(
            conn, till, q.strip(), inactive=inactive, offset=offset, limit=limit + 1
        )
    return Page[CustomerSummary].model_validate(page_of(items, limit, offset))


# -- one customer -------------------------------------------------------------------------------


@router.post(
    "/customers", status_code=201, response_model=CustomerOut, responses=error_responses(413)
)
def create_customer(
    till: CurrentTill,
    engine: Database,
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
    return write_op(engine, till, op, seen_by(till, op.entity_id))


@router.get("/customers/{customer_id}", responses=error_responses(404))
def get_customer(till: CurrentTill, engine: Database, customer_id: UUID) -> CustomerOut:
    """One customer, as this till may see them."""
    with reading(engine) as conn:
        return customer_out(conn, till, require_visible_customer(conn, till, customer_id))


@router.patch(
    "/customers/{customer_id}",
    response_model=CustomerOut,
    responses=error_responses(404, 409, 413),
)
def patch_customer(
    till: CurrentTill,
    engine: Database,
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
    return write_op(engine, till, op, seen_by(till, customer_id))


@router.post("/customers/register", response_model=CustomerOut, responses=error_responses(404, 413))
def register_customer(
    till: CurrentTill,
    engine: Database,
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
    with writing(engine) as conn:
        found = parent_customer(conn, till, till.parent, body.kind, body.value.strip())
        if found is None:
            raise ApiError.not_found(body.kind.value)
        payload = RegisterPayload(marketing_sms=body.marketing_sms)
        op = make_op(OpType.CUSTOMER_REGISTER, found.id, payload, operator_id=operator_id, key=key)
        return answer_applied(conn, till, op, seen_by(till, found.id))


@router.patch(
    "/customers/{customer_id}/membership",
    response_model=CustomerOut,
    responses=error_responses(404, 413),
)
def update_membership(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    body: MembershipUpdate,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> CustomerOut | JSONResponse:
    """Change this organization's own label, status or marketing-SMS subscription."""
    op = make_op(OpType.MEMBERSHIP_UPDATE, customer_id, body, operator_id=operator_id, key=key)
    return write_op(engine, till, op, seen_by(till, customer_id))


# -- history and receipts -----------------------------------------------------------------------


@router.get("/customers/{customer_id}/history", responses=error_responses(404))
def history(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    from_: Annotated[Moment | None, Query(alias="from")] = None,
    to: Moment | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[TransactionSummary]:
    """The customer's transactions, newest first, from `from` (inclusive) to `to` (exclusive)."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        items = transactions_of(
            conn, customer_id, since=from_, before=to, offset=offset, limit=limit + 1
        )
    return Page[TransactionSummary].model_validate(page_of(items, limit, offset))


@router.get("/transactions/{transaction_id}", responses=error_responses(404))
def receipt(till: CurrentTill, engine: Database, transaction_id: UUID) -> Receipt:
    """One transaction as printed, if its customer is in the till's scope."""
    with reading(engine) as conn:
        return receipt_of(conn, till, transaction_id)
