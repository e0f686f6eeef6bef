"""`CrmClient`: the till's one way to talk to the CRM's API v1.

Every call has explicit connect and read timeouts and verifies TLS; every failure becomes one
of the typed errors of `tillcrm.crm._errors`, so callers never see httpx exceptions.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from uuid import UUID

import httpx
import msgspec
from pydantic import BaseModel, TypeAdapter, ValidationError

from tillcrm.api import (
    API_PREFIX,
    BODY_LIMIT_HEADER,
    OPERATOR_LOCKED,
    TILL_THROTTLED,
    CardReveal,
    CustomerOut,
    CustomerRegister,
    CustomerSummary,
    EnrollRequest,
    EnrollResponse,
    ErrorBody,
    IdentifyResult,
    LoyaltyOut,
    Op,
    Page,
    PushResponse,
    Receipt,
    RevealRequest,
    StoreCreditOut,
    StoredValueLoadRequest,
    StoredValueOut,
    SuitesOut,
    SupervisorVerified,
    SupervisorVerifyRequest,
    TillContext,
    TransactionSummary,
    WalletAdd,
    WalletCardOut,
    WalletUpdate,
    encoded_op,
    push_body,
)
from tillcrm.crm._errors import (
    CrmConflict,
    CrmError,
    CrmGone,
    CrmLocked,
    CrmNotFound,
    CrmRejected,
    CrmUnauthorized,
    CrmUnavailable,
)
from tillcrm.domain import IdentifierKind, Operator, OverrideApproval

__all__ = ["CrmClient", "Health", "PulledPage"]

M = TypeVar("M")


class Health(BaseModel):
    """`GET /v1/health`: the CRM's clock, for the doctor's clock-offset check."""

    status: str
    time: datetime


class _PullHead(msgspec.Struct, frozen=True):
    cursor: str
    more: bool
    total: int | None = None


_PULL_HEAD = msgspec.json.Decoder(_PullHead)


@dataclass(frozen=True)
class PulledPage:
    """A `PullResponse` as the CRM sent it: its cursor and whether more follows, and the body
    whose customers the cache checks and stores straight from the bytes
    (`CustomerCache.parse_page`). Validating every `CustomerOut` of a first pull, or even
    building Python objects of every field, would cost several times the rest of it."""

    body: bytes
    cursor: str
    more: bool
    total: int | None = None
    """The customers in the till's scope, on a full pull's first page (`PullResponse`)."""

    @classmethod
    def from_json(cls, body: bytes) -> PulledPage:
        """Read a pull answer's cursor and `more` (msgspec skips over the customers
        without building them, so the head costs little: docs/performance.md)."""
        head = _PULL_HEAD.decode(body)
        return cls(body, head.cursor, head.more, head.total)


class CrmClient:
    """An async client for one CRM, acting as one till (or as nobody, to enroll)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        ca_bundle: Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            verify=str(ca_bundle) if ca_bundle else True,
            transport=transport,
        )
        self._body_limit: int | None = None

    @property
    def body_limit(self) -> int | None:
        """The largest request body the CRM reads, as its last answer said (its
        `BODY_LIMIT_HEADER`); None until a CRM that says it has answered."""
        return self._body_limit

    async def __aenter__(self) -> CrmClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- tills -------------------------------------------------------------------------------

    async def health(self) -> Health:
        """The CRM's status and clock; needs no token."""
        return await self._call("GET", "/health", Health)

    async def enroll(self, code: str, name: str) -> EnrollResponse:
        """Exchange a one-time enrollment code for this till's token and context."""
        body = EnrollRequest(code=code, name=name)
        return await self._call("POST", "/tills/enroll", EnrollResponse, json=_dump(body))

    async def me(self) -> TillContext:
        """Where this till stands: organization, brand, store."""
        return await self._call("GET", "/tills/me", TillContext)

    async def operators(self) -> list[Operator]:
        """The operators who may log in at this till, with PIN hashes for offline login."""
        return await self._call("GET", "/operators", list[Operator])

    # -- customers ---------------------------------------------------------------------------

    async def verify_supervisor(
        self, supervisor_id: str, *, pin: str | None = None, badge: str | None = None
    ) -> SupervisorVerified:
        """Have the CRM check a supervisor's PIN or badge for an override (`CrmRejected` when
        it does not match, `CrmLocked` while the operator is locked)."""
        body = SupervisorVerifyRequest(supervisor_id=supervisor_id, pin=pin, badge=badge)
        return await self._call("POST", "/operators/verify", SupervisorVerified, json=_dump(body))

    async def identify(self, kind: IdentifierKind, value: str) -> IdentifyResult:
        """The customer a card, tag or phone number belongs to."""
        params = {"kind": kind.value, "value": value}
        return await self._call("GET", "/identify", IdentifyResult, params=params)

    async def search(
        self, query: str, *, inactive: bool = False, limit: int = 50, offset: int = 0
    ) -> Page[CustomerSummary]:
        """Customers matching a phone, name, email or customer number."""
        params = {"q": query, "inactive": inactive, "limit": limit, "offset": offset}
        return await self._call("GET", "/customers", Page[CustomerSummary], params=params)

    async def customer(self, customer_id: UUID) -> CustomerOut:
        """One customer as this till may see them."""
        return await self._call("GET", f"/customers/{customer_id}", CustomerOut)

    async def register_customer(
        self, request: CustomerRegister, *, operator_id: str, key: UUID | None = None
    ) -> CustomerOut:
        """Register the connected parent's customer with this card or phone at this child."""
        return await self._call(
            "POST",
            "/customers/register",
            CustomerOut,
            json=_dump(request),
            headers=_acting(operator_id, key),
        )

    async def history(
        self,
        customer_id: UUID,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[TransactionSummary]:
        """The customer's transactions, newest first, from `start` (inclusive) to `end`."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if start is not None:
            params["from"] = start.isoformat()
        if end is not None:
            params["to"] = end.isoformat()
        return await self._call(
            "GET", f"/customers/{customer_id}/history", Page[TransactionSummary], params=params
        )

    async def receipt(self, transaction_id: UUID) -> Receipt:
        """One transaction as printed."""
        return await self._call("GET", f"/transactions/{transaction_id}", Receipt)

    # -- accounts (online only: the wallet and gift-card loads never queue) -------------------

    async def loyalty(self, customer_id: UUID) -> LoyaltyOut:
        """Points balances the points policy shows this till, and the newest movements."""
        return await self._call("GET", f"/customers/{customer_id}/loyalty", LoyaltyOut)

    async def stored_value(self, customer_id: UUID) -> StoredValueOut:
        """Balance inquiry: the card's balance, limits and their use in this event and season."""
        return await self._call("GET", f"/customers/{customer_id}/stored-value", StoredValueOut)

    async def load_stored_value(
        self, customer_id: UUID, amount: int, *, operator_id: str, key: UUID
    ) -> StoredValueOut:
        """Add money to the card; `key` makes a retry apply once."""
        return await self._call(
            "POST",
            f"/customers/{customer_id}/stored-value/load",
            StoredValueOut,
            json=_dump(StoredValueLoadRequest(amount=amount)),
            headers=_acting(operator_id, key),
        )

    async def reveal_card_number(
        self, customer_id: UUID, override: OverrideApproval, *, operator_id: str
    ) -> CardReveal:
        """The full stored-value card number, for a supervisor's approval of exactly this."""
        return await self._call(
            "POST",
            f"/customers/{customer_id}/stored-value/reveal",
            CardReveal,
            json=_dump(RevealRequest(override=override)),
            headers=_acting(operator_id),
        )

    async def store_credit(self, customer_id: UUID) -> StoreCreditOut:
        """The house account: limit, debt and room."""
        return await self._call("GET", f"/customers/{customer_id}/store-credit", StoreCreditOut)

    async def wallet(self, customer_id: UUID) -> list[WalletCardOut]:
        """Saved cards: brand, last 4, expiry and label only."""
        return await self._call("GET", f"/customers/{customer_id}/wallet", list[WalletCardOut])

    async def add_wallet_card(
        self, customer_id: UUID, card: WalletAdd, *, operator_id: str, key: UUID
    ) -> WalletCardOut:
        """Tokenize and save a card; the number goes to the CRM and nowhere else. `key` makes
        a retry save it once."""
        body = card.model_dump(mode="json")
        body["card_number"] = card.card_number.get_secret_value()
        return await self._call(
            "POST",
            f"/customers/{customer_id}/wallet",
            WalletCardOut,
            json=body,
            headers=_acting(operator_id, key),
        )

    async def update_wallet_card(
        self, customer_id: UUID, card_id: UUID, changes: WalletUpdate, *, operator_id: str
    ) -> WalletCardOut:
        """Change a saved card's expiry or label; the token stays."""
        return await self._call(
            "PATCH",
            f"/customers/{customer_id}/wallet/{card_id}",
            WalletCardOut,
            json=_dump(changes),
            headers=_acting(operator_id),
        )

    async def remove_wallet_card(
        self, customer_id: UUID, card_id: UUID, *, operator_id: str
    ) -> None:
        """Forget a saved card and its token."""
        await self._call(
            "DELETE",
            f"/customers/{customer_id}/wallet/{card_id}",
            type(None),
            headers=_acting(operator_id),
        )

    async def suites(self, customer_id: UUID) -> SuitesOut:
        """The customer's suites, grouped by where they stand now."""
        return await self._call("GET", f"/customers/{customer_id}/suites", SuitesOut)

    # -- sync --------------------------------------------------------------------------------

    async def push(self, ops: list[Op]) -> PushResponse:
        """Send outbox ops in seq order; the answer has one result per processed op.

        The body is built from each op's `encoded_op`, the very bytes the outbox measured to
        keep the batch under the CRM's body limit."""
        body = push_body(encoded_op(op) for op in ops)
        headers = {"Content-Type": "application/json"}
        return await self._call("POST", "/sync/push", PushResponse, content=body, headers=headers)

    async def pull(self, cursor: str | None, *, limit: int) -> PulledPage:
        """Customers changed in this till's scope since `cursor` (None: the whole scope)."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await self._request("GET", "/sync/pull", params=params)
        try:
            return PulledPage.from_json(response.content)
        except ValueError as exc:  # malformed JSON, or msgspec's ValidationError
            raise CrmError("the CRM answered /sync/pull with an unexpected body") from exc

    # -- plumbing ----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, shape: type[M], **kwargs: Any) -> M:
        response = await self._request(method, path, **kwargs)
        if response.status_code == httpx.codes.NO_CONTENT:
            return TypeAdapter(shape).validate_python(None)
        try:
            return TypeAdapter(shape).validate_json(response.content)
        except ValidationError as exc:
            raise CrmError(f"the CRM answered {path} with an unexpected body") from exc

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The CRM's successful answer; any failure as a typed error."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CrmUnavailable(f"the CRM did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise CrmUnavailable(f"cannot reach the CRM at {self._http.base_url}: {exc}") from exc
        advertised = response.headers.get(BODY_LIMIT_HEADER, "")
        if advertised.isdigit():
            self._body_limit = int(advertised)
        if response.is_success:
            return response
        raise _error_of(response)


def _acting(operator_id: str, key: UUID | None = None) -> dict[str, str]:
    """Headers of a write: who acts (audit log), and the idempotency key of a retryable one."""
    headers = {"X-Operator-Id": operator_id}
    if key is not None:
        headers["Idempotency-Key"] = str(key)
    return headers


def _dump(body: BaseModel) -> Any:
    return body.model_dump(mode="json", exclude_none=True)


def _error_of(response: httpx.Response) -> CrmError:
    """The typed error for a non-2xx answer (whose body is an `ErrorBody` from our CRM)."""
    status = response.status_code
    raw: dict[str, Any] = {}
    try:
        raw = response.json()
        body = ErrorBody.model_validate(raw)
    except (ValueError, ValidationError):
        body = ErrorBody(detail=response.reason_phrase or f"HTTP {status}", code="http_error")
    if status == 401:
        return CrmUnauthorized(f"till not authorized: {body.detail}", code=body.code, status=status)
    if status == 404:
        return CrmNotFound(body.detail, code=body.code, status=status)
    if status == 410:
        return CrmGone(body.detail, code=body.code, status=status)
    if status == 409:
        current = raw.get("current") if isinstance(raw.get("current"), dict) else None
        return CrmConflict(body.detail, code=body.code, current=current)
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if status == 429 and body.code in (OPERATOR_LOCKED, TILL_THROTTLED):
        return CrmLocked(body.detail, code=body.code, retry_after=retry_after or 0.0)
    if status == 429 or status >= 500:
        return CrmUnavailable(
            f"the CRM is unavailable (HTTP {status}): {body.detail}",
            status=status,
            retry_after=retry_after,
        )
    return CrmRejected(
        body.detail, code=body.code, status=status, fields=[p.field for p in body.problems]
    )


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds from now, whether given as seconds or as an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
