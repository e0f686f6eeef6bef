"""Who is asking: the till behind a bearer token, and the scope it sees customers in."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection, Engine

from tillcrm.api import TillContext
from tillcrm.domain import Brand, Organization, PromotionCategory, Store, TillScope
from tillcrm.server.db import reading
from tillcrm.server.errors import ApiError
from tillcrm.server.logs import note_till
from tillcrm.server.tables import brands, organizations, promotion_categories, stores, tills

__all__ = [
    "ADMIN_TOKEN_ENV",
    "Admin",
    "CurrentTill",
    "Database",
    "Till",
    "engine_of",
    "hash_token",
    "load_organization",
    "till_context",
]


def hash_token(token: str) -> str:
    """Tokens and enrollment codes are stored as SHA-256: a stolen database enrolls nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def engine_of(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


Database = Annotated[Engine, Depends(engine_of)]
"""A route parameter that is the app's database engine (see `engine_of`)."""


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
        """The wire form, returned at enrollment and by `/v1/tills/me`, with the brands and
        promotion categories of the till's organization and its parent."""
        org_ids = [self.org.id] + ([self.parent.id] if self.parent else [])
        rows = conn.execute(
            sa.select(promotion_categories)
            .where(promotion_categories.c.org_id.in_(org_ids))
            .order_by(promotion_categories.c.id)
        )
        categories = [PromotionCategory.model_validate(row._asdict()) for row in rows]
        brand_rows = conn.execute(
            sa.select(brands).where(brands.c.org_id.in_(org_ids)).order_by(brands.c.id)
        )
        return TillContext(
            till_id=self.id,
            till_name=self.name,
            store=self.store,
            brand=self.brand,
            organization=self.org,
            parent=self.parent,
            brands=[Brand.model_validate(row._asdict()) for row in brand_rows],
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


def _bearer_scheme(name: str, whose: str) -> HTTPBearer:
    """A bearer scheme the OpenAPI document declares as `name`, reading the header. Without
    `auto_error`: its own 401 (not an `ErrorBody`, no challenge) is left to `_bearer`."""
    return HTTPBearer(auto_error=False, scheme_name=name, description=whose)


def _bearer(credentials: HTTPAuthorizationCredentials | None, who: str) -> str:
    """The token of an `Authorization: Bearer ...` header; 401 naming `who` without one."""
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise ApiError(401, "unauthorized", f"{who} is not authorized: no bearer token")
    return token


_TILL_TOKEN = _bearer_scheme("till_token", "The till's token, from `POST /v1/tills/enroll`.")


def _authenticated_till(
    request: Request,
    engine: Database,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_TILL_TOKEN)],
) -> Till:
    """The till holding the bearer token, looked up on every request: a till revoked a moment
    ago (see `admin.revoke_till`) is refused on its very next one."""
    token_hash = hash_token(_bearer(credentials, "this till"))
    with reading(engine) as conn:
        till_id = conn.execute(
            sa.select(tills.c.id).where(
                tills.c.token_hash == token_hash, tills.c.revoked_at.is_(None)
            )
        ).scalar_one_or_none()
        if till_id is None:
            raise ApiError(
                401, "unauthorized", "this till is not authorized: unknown or revoked token"
            )
        note_till(request.scope, till_id)
        return till_context(conn, till_id)


CurrentTill = Annotated[Till, Depends(_authenticated_till)]
"""A route parameter that authenticates the till from its bearer token."""

ADMIN_TOKEN_ENV = "TILLCRM_CRM_ADMIN_TOKEN"  # noqa: S105 (a variable name, not a secret)
MIN_ADMIN_TOKEN = 32
"""The admin API is off unless the CRM's environment holds a token this long: a short one
could be guessed, and no till token ever opens it."""


_ADMIN_TOKEN = _bearer_scheme("admin_token", f"The CRM's admin token (`{ADMIN_TOKEN_ENV}`).")


def _authenticated_admin(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_ADMIN_TOKEN)],
) -> None:
    """Let through only a caller holding the CRM's admin token (`ADMIN_TOKEN_ENV`, read on
    each request so a rotated token takes effect without a restart); 403 while none is set.
    A request with no token at all is 401 first, as everywhere (RFC 9110: no credentials).
    The comparison takes the same time whatever the guess."""
    given = _bearer(credentials, "this caller")
    expected = os.environ.get(ADMIN_TOKEN_ENV, "")
    if len(expected) < MIN_ADMIN_TOKEN:
        raise ApiError(
            403,
            "admin_disabled",
            f"the admin API is off: set {ADMIN_TOKEN_ENV} to a secret of at least "
            f"{MIN_ADMIN_TOKEN} characters where the CRM runs",
        )
    if not hmac.compare_digest(hash_token(given), hash_token(expected)):
        raise ApiError(401, "unauthorized", "this caller is not authorized: not the admin token")


Admin = Annotated[None, Depends(_authenticated_admin)]
"""A route parameter that admits only the CRM's administrator (see `_authenticated_admin`)."""
