"""A customer's accounts: loyalty, stored value, store credit, wallet, authorized users,
suites and visits.

Every path first finds the customer in the till's scope (404 otherwise). Writes that move
money or change who may act for the customer go through the op registry like pushed ops
(`rest_writes.write_op`); wallet cards are online-only and written by `server.wallet`.
What each answer holds is read in `server.accounts`: these routes only speak HTTP.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from tillcrm.api import (
    AuthorizedUserAdd,
    AuthorizedUserNew,
    AuthorizedUserRemove,
    CardReveal,
    LoyaltyOut,
    OpType,
    Page,
    RevealRequest,
    StoreCreditOut,
    StoredValueLoad,
    StoredValueLoadRequest,
    StoredValueOut,
    SuitesOut,
    WalletAdd,
    WalletCardOut,
    WalletUpdate,
)
from tillcrm.domain import AuthorizedUser, Visit
from tillcrm.domain.ids import new_id
from tillcrm.server import accounts
from tillcrm.server import wallet as wallet_cards
from tillcrm.server.context import CurrentTill, Database
from tillcrm.server.db import reading
from tillcrm.server.openapi import error_responses
from tillcrm.server.request_limits import JsonLimitsRoute
from tillcrm.server.rest_writes import IdempotencyKey, OperatorId, make_op, write_op
from tillcrm.server.routes.customers import Limit, Offset, page_of
from tillcrm.server.scope import require_visible_customer

router = APIRouter(
    prefix="/customers/{customer_id}",
    route_class=JsonLimitsRoute,
    responses=error_responses(401, 404, 422),
)

LedgerLimit = Annotated[int, Query(ge=1, le=500)]


# -- loyalty ------------------------------------------------------------------------------------


@router.get("/loyalty")
def loyalty(
    till: CurrentTill, engine: Database, customer_id: UUID, limit: LedgerLimit = 100
) -> LoyaltyOut:
    """The points accounts the points policy shows this till, and their newest movements."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        return accounts.loyalty_of(conn, till, customer_id, limit)


# -- stored value -------------------------------------------------------------------------------


@router.get("/stored-value")
def stored_value(till: CurrentTill, engine: Database, customer_id: UUID) -> StoredValueOut:
    """Balance inquiry: masked number, balance, limits and what is used of them now."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        return accounts.stored_value_of(conn, till, customer_id)


@router.post("/stored-value/load", response_model=StoredValueOut, responses=error_responses(413))
def load_stored_value(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    body: StoredValueLoadRequest,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> StoredValueOut | JSONResponse:
    """Add money to the card (online only), once per idempotency key."""
    op = make_op(
        OpType.STORED_VALUE_LOAD,
        customer_id,
        StoredValueLoad(amount=body.amount),
        operator_id=operator_id,
        key=key,
    )
    return write_op(
        engine, till, op, lambda conn: accounts.stored_value_of(conn, till, customer_id)
    )


@router.post("/stored-value/reveal", responses=error_responses(403, 413))
def reveal_card_number(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    body: RevealRequest,
    operator_id: OperatorId,
) -> CardReveal:
    """The full card number, for a supervisor's approval of exactly this; audited."""
    number = accounts.reveal_card_number(engine, till, operator_id, customer_id, body.override)
    return CardReveal(card_number=number)


# -- store credit -------------------------------------------------------------------------------


@router.get("/store-credit")
def store_credit(
    till: CurrentTill, engine: Database, customer_id: UUID, limit: LedgerLimit = 100
) -> StoreCreditOut:
    """The house account: its limit (own, else the promotion category's), debt and room."""
    with reading(engine) as conn:
        customer = require_visible_customer(conn, till, customer_id)
        return accounts.store_credit_of(conn, till, customer, limit)


# -- wallet -------------------------------------------------------------------------------------


@router.get("/wallet")
def wallet(till: CurrentTill, engine: Database, customer_id: UUID) -> list[WalletCardOut]:
    """The customer's saved cards: brand, last 4, expiry and label only."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        return wallet_cards.saved_cards(conn, customer_id)


@router.post("/wallet", status_code=201, responses=error_responses(413))
def add_wallet_card(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    body: WalletAdd,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> WalletCardOut:
    """Tokenize a card and keep only brand, last 4, expiry, label and the token.

    The idempotency key becomes the card's id, so a retry whose first answer was lost gets
    the card saved then (see `wallet.add_card`).
    """
    card_id = key or new_id()
    return wallet_cards.add_card(engine, till, operator_id, customer_id, body, card_id)


@router.patch("/wallet/{card_id}", responses=error_responses(413))
def update_wallet_card(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    card_id: UUID,
    body: WalletUpdate,
    operator_id: OperatorId,
) -> WalletCardOut:
    """Change a saved card's expiry or label; the token stays."""
    return wallet_cards.update_card(engine, till, operator_id, customer_id, card_id, body)


@router.delete("/wallet/{card_id}", status_code=204)
def remove_wallet_card(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    card_id: UUID,
    operator_id: OperatorId,
) -> Response:
    """Forget a saved card (its token with it)."""
    wallet_cards.remove_card(engine, till, operator_id, customer_id, card_id)
    return Response(status_code=204)


# -- authorized users ---------------------------------------------------------------------------


@router.get("/authorized-users")
def list_authorized_users(
    till: CurrentTill, engine: Database, customer_id: UUID
) -> list[AuthorizedUser]:
    """People who may act for the customer, and what each may do."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        return accounts.authorized_users_of(conn, customer_id)


@router.post(
    "/authorized-users",
    status_code=201,
    response_model=AuthorizedUser,
    responses=error_responses(413),
)
def add_authorized_user(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    body: AuthorizedUserNew,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> AuthorizedUser | JSONResponse:
    """Authorize a person; a retry with the same key adds them once."""
    user = AuthorizedUser.model_validate({**body.model_dump(), "id": body.id or key or new_id()})
    op = make_op(
        OpType.AUTHORIZED_USER_ADD,
        customer_id,
        AuthorizedUserAdd(user=user),
        operator_id=operator_id,
        key=key,
    )
    return write_op(engine, till, op, lambda _conn: user)


@router.delete("/authorized-users/{user_id}", status_code=204, response_model=None)
def remove_authorized_user(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    user_id: UUID,
    operator_id: OperatorId,
    key: IdempotencyKey = None,
) -> Response:
    """Withdraw a person's authorization."""
    op = make_op(
        OpType.AUTHORIZED_USER_REMOVE,
        customer_id,
        AuthorizedUserRemove(user_id=user_id),
        operator_id=operator_id,
        key=key,
    )
    return write_op(
        engine,
        till,
        op,
        lambda _conn: Response(status_code=204),
        check=lambda conn: accounts.require_authorized_user(conn, customer_id, user_id),
    )


# -- suites and visits --------------------------------------------------------------------------


@router.get("/suites")
def customer_suites(till: CurrentTill, engine: Database, customer_id: UUID) -> SuitesOut:
    """The customer's suites: ongoing, upcoming (soonest first) and closed (latest first)."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        return accounts.suites_of(conn, customer_id)


@router.get("/visits")
def customer_visits(
    till: CurrentTill,
    engine: Database,
    customer_id: UUID,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[Visit]:
    """Where and how the customer was identified, newest first."""
    with reading(engine) as conn:
        require_visible_customer(conn, till, customer_id)
        items = accounts.visits_of(conn, customer_id, offset, limit + 1)
    return Page[Visit].model_validate(page_of(items, limit, offset))
