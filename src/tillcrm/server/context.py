"""Who is asking: the till behind a bearer token, and the scope it sees customers in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from sqlalchemy.engine import Connection, Engine

from tillcrm.api import TillContext
from tillcrm.domain import Brand, Organization, PromotionCategory, Store, TillScope
from tillcrm.server.db import reading
from tillcrm.server.errors import ApiError
from tillcrm.server.tables import brands, organizations, promotion_categories, stores, tills

__all__ = ["CurrentTill", "Till", "engine_of", "hash_token", "load_organization", "till_context"]


def hash_token(token: str) -> str:
    """Tokens and enrollment codes are stored as SHA-256: a stolen database enrolls nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def engine_of(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def load_organization(conn: Connection, org_id: str) -> Organization:
    """An organization row as the domain model."""
    row = conn.execute(sa.select(organizations).where(organizations.c.id == org_id)).one()
    return Organization.model_validate(row._asdict())


@dataclass(frozen=True)
class Till:
    """The authenticated till: its place in the organization and the scope it sees."""

    id: str
    name: str
    store: Store
    brand: Brand
    org: Organization
    parent: Organization | None

    @property
    def scope(self) -> TillScope:
        """The visibility scope for customer rules."""
        return TillScope.of(self.org, self.brand.id)

    def context(self, conn: Connection) -> TillContext:
        """The wire form, returned at enrollment and by `/v1/tills/me`, with the promotion
        categories of the till's organization and its parent."""
        org_ids = [self.org.id] + ([self.parent.id] if self.parent else [])
        rows = conn.execute(
            sa.select(promotion_categories)
            .where(promotion_categories.c.org_id.in_(org_ids))
            .order_by(promotion_categories.c.id)
        )
        categories = [PromotionCategory.model_validate(row._asdict()) for row in rows]
        return TillContext(
            till_id=self.id,
            till_name=self.name,
            store=self.store,
            brand=self.brand,
            organization=self.org,
            parent=self.parent,
            promotion_categories=categories,
        )


def till_context(conn: Connection, till_id: str) -> Till:
    """Load a till and its store, brand and organization."""
    row = conn.execute(
        sa.select(tills.c.id, tills.c.name, tills.c.store_id).where(tills.c.id == till_id)
    ).one()
    store_row = conn.execute(sa.select(stores).where(stores.c.id == row.store_id)).one()
    brand_row = conn.execute(sa.select(brands).where(brands.c.id == store_row.brand_id)).one()
    org = load_organization(conn, brand_row.org_id)
    parent = load_organization(conn, org.parent_id) if org.parent_id else None
    return Till(
        id=row.id,
        name=row.name,
        store=Store.model_validate(store_row._asdict()),
        brand=Brand.model_validate(brand_row._asdict()),
        org=org,
        parent=parent,
    )


def _authenticated_till(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Till:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthorized", "this till is not authorized: no bearer token")
    token_hash = hash_token(authorization[7:].strip())
    with reading(engine_of(request)) as conn:
        till_id = conn.execute(
            sa.select(tills.c.id).where(tills.c.token_hash == token_hash)
        ).scalar_one_or_none()
        if till_id is None:
            raise ApiError(401, "unauthorized", "this till is not authorized: unknown token")
        return till_context(conn, till_id)


CurrentTill = Annotated[Till, Depends(_authenticated_till)]
"""A route parameter that authenticates the till from its bearer token."""
