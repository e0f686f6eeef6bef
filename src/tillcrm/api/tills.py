"""Till enrollment and the till's own context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from tillcrm.domain import Brand, Name, Organization, PromotionCategory, Store, Text
from tillcrm.domain.org_fields import FieldDefinition

__all__ = [
    "MAX_SECRET",
    "OPERATOR_LOCKED",
    "TILL_THROTTLED",
    "EnrollRequest",
    "EnrollResponse",
    "OverrideToReview",
    "SupervisorVerified",
    "SupervisorVerifyRequest",
    "TillContext",
    "TillRevoked",
]

MAX_SECRET = 128
"""The longest PIN or badge the CRM will check: longer than any keypad entry or card track."""
Secret = Annotated[Text, Field(min_length=1, max_length=MAX_SECRET)]
"""A PIN or a badge's card value as typed or swiped: checked against a hash, never stored."""


class EnrollRequest(BaseModel):
    """Exchange a one-time enrollment code for a till token."""

    code: Annotated[Text, Field(min_length=6, max_length=64)]
    name: Annotated[Text, Field(min_length=1, max_length=60)] = "Till"


class TillContext(BaseModel):
    """Where a till stands: its organization (and parent), brand and store."""

    till_id: str
    till_name: str
    store: Store
    brand: Brand
    organization: Organization
    parent: Organization | None = None
    brands: list[Brand] = []
    """The brands (or units) of the organization and its parent, kept for offline: the till
    names a brand's points wallet, ledger entries and history by these, not by their ids."""
    fields: list[FieldDefinition] = []
    """The extended and custom fields this till shows (its parent's, then its own)."""
    settings: dict[str, str] = {}
    """The configuration in force here (a connected parent's overrides its child's)."""
    promotion_categories: list[PromotionCategory] = []
    """The promotion categories of the organization (and its parent), kept for offline: the till
    checks a customer's category credit limit and previews the points a sale earns under the
    customer's category as the CRM will count them."""
    max_body_bytes: int | None = None
    """The largest request body the CRM reads (a push is sized under it); None from a CRM
    that does not say. Every answer's `BODY_LIMIT_HEADER` says it too."""


class EnrollResponse(BaseModel):
    """The till's identity and bearer token; the token is shown once and stored hashed."""

    token: str
    context: TillContext


class TillRevoked(BaseModel):
    """A till whose token the CRM refuses from now on, and since when."""

    till_id: str
    revoked_at: datetime


class SupervisorVerifyRequest(BaseModel):
    """A supervisor's PIN or badge, for the CRM to check against its own hash (exactly one)."""

    supervisor_id: Name
    pin: Secret | None = None
    badge: Secret | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> SupervisorVerifyRequest:
        if (self.pin is None) == (self.badge is None):
            raise ValueError("give exactly one of pin and badge")
        return self


OPERATOR_LOCKED = "operator_locked"
TILL_THROTTLED = "till_throttled"
"""The codes of a 429 from `/operators/verify`: the supervisor is locked, or the till made
too many wrong checks of any supervisors."""


class SupervisorVerified(BaseModel):
    """The CRM checked the supervisor: the id an override's approval carries to prove it.
    It lets one op of this till approved by this supervisor through, until `expires_at`."""

    verification_id: UUID
    supervisor_id: str
    expires_at: datetime


class OverrideToReview(BaseModel):
    """An override the CRM accepted on the till's word alone (checked offline against the
    till's cached hashes), for an administrator to review."""

    approval_id: UUID
    op_id: UUID | None
    till_id: str
    supervisor_id: str | None
    cashier_id: str | None
    reason: str
    used_at: datetime
