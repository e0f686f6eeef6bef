"""Sync protocol v1: ops the till pushes and the changes it pulls.

Every write a till makes is an op with a client-made id (UUIDv7) and a per-till, gap-free `seq`.
The op id is the idempotency key: the CRM applies an op once and answers a resend with the
stored result. `payload` is validated against the schema of its `type`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from itertools import accumulate, pairwise
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from tillcrm.api.customers import CustomerOut
from tillcrm.api.org import MembershipUpdate, RegisterPayload
from tillcrm.domain import (
    AuthorizedUser,
    CustomerProfile,
    Flag,
    Identifier,
    IdentifierKind,
    Int64,
    Moment,
    Name,
    OverrideApproval,
    TenderKind,
    Text,
    TransactionLine,
)

__all__ = [
    "ACCOUNT_TENDERS",
    "MAX_BATCH",
    "PAYLOADS",
    "AuthorizedUserAdd",
    "AuthorizedUserRemove",
    "CustomerCreatePayload",
    "CustomerUpdatePayload",
    "IdentifierBlock",
    "Op",
    "OpHeader",
    "OpResult",
    "OpStatus",
    "OpType",
    "PointsRedeem",
    "PullResponse",
    "PushResponse",
    "PushStop",
    "PushedBatch",
    "SaleLineTender",
    "SalePayload",
    "StopReason",
    "StoreCreditPayment",
    "StoredValueLoad",
    "SuiteRemove",
    "VisitPayload",
    "encoded_op",
    "push_body",
    "push_body_sizes",
]

MAX_BATCH = 1000
ACCOUNT_TENDERS = frozenset({TenderKind.POINTS, TenderKind.STORED_VALUE, TenderKind.STORE_CREDIT})
"""Tenders that charge the customer's own accounts (and so fall under their limits)."""
Amount = Annotated[Int64, Field(gt=0, le=100_000_000)]


class OpType(StrEnum):
    """What an op does."""

    CUSTOMER_CREATE = "customer_create"
    CUSTOMER_UPDATE = "customer_update"
    VISIT = "visit"
    SALE = "sale"
    POINTS_REDEEM = "points_redeem"
    STORED_VALUE_LOAD = "stored_value_load"
    STORE_CREDIT_PAYMENT = "store_credit_payment"
    AUTHORIZED_USER_ADD = "authorized_user_add"
    AUTHORIZED_USER_REMOVE = "authorized_user_remove"
    IDENTIFIER_ADD = "identifier_add"
    IDENTIFIER_BLOCK = "identifier_block"
    CUSTOMER_REGISTER = "customer_register"
    MEMBERSHIP_UPDATE = "membership_update"
    SUITE_REMOVE = "suite_remove"


class CustomerCreatePayload(BaseModel):
    """customer_create: `entity_id` is the new customer's id."""

    profile: CustomerProfile
    identifiers: list[Identifier] = []
    authorized_users: list[AuthorizedUser] = []
    independent: Flag = False
    """At a connected child: a profile of the child's own, which the parent cannot see."""


class CustomerUpdatePayload(BaseModel):
    """customer_update: changed top-level profile fields (`base_version` is on the op)."""

    changes: dict[Name, Any]


class VisitPayload(BaseModel):
    """visit: the customer was identified at this till."""

    method: IdentifierKind | None = None


class SaleLineTender(BaseModel):
    """One tender of a sale. A points tender says how many points it spends."""

    kind: TenderKind
    amount: Amount
    points: Annotated[Int64, Field(gt=0)] | None = None


class SalePayload(BaseModel):
    """sale: a completed transaction; earns points and charges the account tenders."""

    transaction_id: UUID
    lines: Annotated[list[TransactionLine], Field(min_length=1, max_length=500)]
    tenders: Annotated[list[SaleLineTender], Field(min_length=1, max_length=20)]
    authorized_user_id: UUID | None = None
    """Who charged the house account, when not the customer."""
    event_id: Name | None = None
    """The event the till is selling for (per-event stored-value limits)."""

    @property
    def account_charge(self) -> int:
        """What the sale charges to the customer's accounts: the amount a supervisor's
        override of the sale (kind `sale`) is bound to."""
        return sum(t.amount for t in self.tenders if t.kind in ACCOUNT_TENDERS)


class PointsRedeem(BaseModel):
    """points_redeem: points spent on a bonus outside a sale."""

    points: Amount
    reason: Annotated[Text, Field(min_length=1, max_length=200)]


class StoredValueLoad(BaseModel):
    """stored_value_load: money added to the customer's stored-value card (online only)."""

    amount: Amount


class StoreCreditPayment(BaseModel):
    """store_credit_payment: the customer pays down the house account."""

    amount: Amount


class AuthorizedUserAdd(BaseModel):
    """authorized_user_add."""

    user: AuthorizedUser


class AuthorizedUserRemove(BaseModel):
    """authorized_user_remove."""

    user_id: UUID


class SuiteRemove(BaseModel):
    """suite_remove: a suite is no longer assigned to the customer."""

    suite_id: UUID


class IdentifierBlock(BaseModel):
    """identifier_block: a lost card stops identifying the customer."""

    kind: IdentifierKind
    value: Annotated[Text, Field(min_length=1, max_length=128)]


PAYLOADS: dict[OpType, type[BaseModel]] = {
    OpType.CUSTOMER_CREATE: CustomerCreatePayload,
    OpType.CUSTOMER_UPDATE: CustomerUpdatePayload,
    OpType.VISIT: VisitPayload,
    OpType.SALE: SalePayload,
    OpType.POINTS_REDEEM: PointsRedeem,
    OpType.STORED_VALUE_LOAD: StoredValueLoad,
    OpType.STORE_CREDIT_PAYMENT: StoreCreditPayment,
    OpType.AUTHORIZED_USER_ADD: AuthorizedUserAdd,
    OpType.AUTHORIZED_USER_REMOVE: AuthorizedUserRemove,
    OpType.IDENTIFIER_ADD: Identifier,
    OpType.IDENTIFIER_BLOCK: IdentifierBlock,
    OpType.CUSTOMER_REGISTER: RegisterPayload,
    OpType.MEMBERSHIP_UPDATE: MembershipUpdate,
    OpType.SUITE_REMOVE: SuiteRemove,
}
"""The payload schema of each op type."""


class Op(BaseModel):
    """One operation from a till's outbox."""

    op_id: UUID
    seq: Annotated[Int64, Field(ge=1)] | None = None
    """Per-till, gap-free position in the outbox; None for a write made through a REST path."""
    type: OpType
    entity_id: UUID
    """The customer the op is about."""
    base_version: Annotated[Int64, Field(ge=0)] | None = None
    payload: dict[Name, Any]
    local_ts: Moment
    operator_id: Name
    override: OverrideApproval | None = None
    offline: Flag = False
    """Taken while the till could not reach the CRM: an overdraft is applied and flagged."""
    withheld: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    """Why the till cannot send this op's payload (too large for the CRM even alone): it is
    sent without it, and the CRM stores the op as rejected with this reason and takes its
    seq, so the ops after it apply."""

    def typed_payload(self) -> BaseModel:
        """The payload validated against its type's schema."""
        return PAYLOADS[self.type].model_validate(self.payload)


class OpHeader(BaseModel):
    """What the CRM reads of a pushed op before anything else: its id and its seq, enough to
    store an answer for it. The rest is read op by op (`Op`): an op this CRM cannot read (an
    op type or a field it does not know) is rejected alone and its seq still advances."""

    model_config = ConfigDict(extra="allow")

    op_id: UUID
    seq: Annotated[Int64, Field(ge=1)]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Published as what the CRM requires of every op (this header), with the whole `Op`
        it applies under `x-op`: an op that is not one is rejected alone, not refused with
        its batch, so the request schema cannot require more than the header."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["x-op"] = handler(Op.__pydantic_core_schema__)
        return schema


class PushedBatch(BaseModel):
    """A batch of ops in seq order, as the till sends it (`push_body`) and the CRM reads it:
    each op is an `Op`, read one by one (see `OpHeader`), so one op the CRM cannot read never
    refuses the whole batch."""

    ops: Annotated[list[OpHeader], Field(min_length=1, max_length=MAX_BATCH)]

    @model_validator(mode="after")
    def _in_seq_order(self) -> PushedBatch:
        """Seqs strictly increasing (every pushed op has one) and no op id twice."""
        if any(later.seq <= earlier.seq for earlier, later in pairwise(self.ops)):
            raise ValueError("ops must be in strictly increasing seq order")
        if len({op.op_id for op in self.ops}) != len(self.ops):
            raise ValueError("an op id appears twice in one batch")
        return self


_PUSH_HEAD, _PUSH_TAIL = b'{"ops":[', b"]}"


def encoded_op(op: Op) -> bytes:
    """An op as a push body carries it (compact UTF-8 JSON, no null fields): measured by the
    till to keep a batch under the CRM's body limit, and joined into the body by `push_body`."""
    return op.model_dump_json(exclude_none=True).encode()


def push_body(encoded_ops: Iterable[bytes]) -> bytes:
    """The body of a push of these ops (each `encoded_op`): a `PushedBatch` as JSON."""
    return _PUSH_HEAD + b",".join(encoded_ops) + _PUSH_TAIL


def push_body_sizes(op_sizes: Iterable[int]) -> list[int]:
    """The bytes of `push_body` of the first one, two, ... ops whose encodings are `op_sizes`
    bytes long, without building it: the head and tail, the ops, a comma between two ops."""
    frame = len(_PUSH_HEAD) + len(_PUSH_TAIL)
    return [frame + commas + ops for commas, ops in enumerate(accumulate(op_sizes))]


class OpStatus(StrEnum):
    """What became of an op."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"


class OpResult(BaseModel):
    """The CRM's answer for one op; a resend gets the stored answer with status duplicate."""

    op_id: UUID
    seq: int | None
    status: OpStatus
    reason: str = ""
    """Why it was rejected or needs review."""
    result: dict[str, Any] = {}
    """What the op produced (for example the customer's new version and balances)."""


class StopReason(StrEnum):
    """Why the CRM took none of a push's ops from some seq on."""

    GAP = "gap"
    """An earlier seq of the till has not reached the CRM: it takes ops in seq order."""
    SEQ_TAKEN = "seq_taken"
    """The seq is the CRM's already, for another op of the till: the till's database is
    older than the CRM's record of it (restored from an old copy)."""


class PushStop(BaseModel):
    """Where and why the CRM stopped taking a push's ops; the ops from `seq` on wait."""

    seq: int
    reason: StopReason
    detail: str


class PushResponse(BaseModel):
    """Results in seq order; ops after a gap are not processed and have no result."""

    results: list[OpResult]
    last_seq: int
    """The till's last applied seq on the CRM; the next op must be `last_seq + 1`."""
    stopped: PushStop | None = None
    """Set when the CRM took none of the ops from some seq on (a gap, a seq taken)."""


class PullResponse(BaseModel):
    """Customers changed in the till's scope since `cursor`; call again while `more`."""

    customers: list[CustomerOut]
    cursor: str
    more: bool
    total: int | None = None
    """How many customers the till's scope holds, on the first page of a full pull (no
    cursor): what the till's progress counts towards. None on every other page."""
