"""A till's enrollment: a one-time code from `tillcrm crm enroll-code` exchanged for the
till's own token; and whether the CRM's database answers at all (health).

Only hashes of codes and tokens are stored (`context.hash_token`): a stolen database enrolls
nothing and opens nothing.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tillcrm.api import EnrollResponse
from tillcrm.domain.ids import new_id
from tillcrm.server.context import hash_token, till_context
from tillcrm.server.db import reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.org_config import context_of
from tillcrm.server.tables import enrollment_codes, till_sync, tills

__all__ = ["enroll_till", "require_database"]


def require_database(engine: Engine) -> None:
    """503 when the database does not answer a read."""
    try:
        with reading(engine) as conn:
            conn.execute(sa.select(tills.c.id).limit(1))
    except sa.exc.DBAPIError as exc:
        raise ApiError(503, "database_unavailable", "the CRM's database does not answer") from exc


def enroll_till(engine: Engine, code: str, name: str) -> EnrollResponse:
    """A new till named `name` at the code's store, and its token; 401 for a code unknown,
    used or expired.

    The code is compared exactly as issued, and claimed by one conditional UPDATE before
    anything else is written, so of many requests racing with one code exactly one enrolls a
    till: on PostgreSQL the others wait on the claimer's row lock and then find the code used
    (READ COMMITTED checks the WHERE again on the row as committed), or claim it themselves if
    the claimer rolled back; on SQLite writers take turns anyway.
    """
    now = datetime.now(UTC)
    till_id = str(new_id())
    token = secrets.token_urlsafe(32)
    with writing(engine) as conn:
        store_id = conn.execute(
            enrollment_codes.update()
            .where(
                enrollment_codes.c.code_hash == hash_token(code),
                enrollment_codes.c.used_by_till.is_(None),
                enrollment_codes.c.expires_at > now,
            )
            .values(used_by_till=till_id)
            .returning(enrollment_codes.c.store_id)
        ).scalar_one_or_none()
        if store_id is None:
            raise ApiError(401, "bad_code", "enrollment code is unknown, used or expired")
        conn.execute(
            tills.insert().values(
                id=till_id,
                store_id=store_id,
                name=name,
                token_hash=hash_token(token),
                enrolled_at=now,
            )
        )
        conn.execute(till_sync.insert().values(till_id=till_id, last_seq=0))
        return EnrollResponse(token=token, context=context_of(conn, till_context(conn, till_id)))
