"""Till enrollment and the till's own context."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from tillcrm.domain import Brand, Organization, PromotionCategory, Store, Text
from tillcrm.domain.org_fields import FieldDefinition

__all__ = ["EnrollRequest", "EnrollResponse", "TillContext", "TillRevoked"]


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


class EnrollResponse(BaseModel):
    """The till's identity and bearer token; the token is shown once and stored hashed."""

    token: str
    context: TillContext


class TillRevoked(BaseModel):
    """A till whose token the CRM refuses from now on, and since when."""

    till_id: str
    revoked_at: datetime
