"""Audit entries for what a till does over REST outside the op registry (a card number
revealed, a wallet card saved or forgotten, a supervisor's PIN tried): the registry's ops
audit themselves."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.engine import Connection

from tillcrm.server.context import Till
from tillcrm.server.tables import audit_log

__all__ = ["audit_action"]


def audit_action(
    conn: Connection,
    till: Till,
    operator_id: str,
    customer_id: UUID | None,
    *,
    action: str,
    detail: str,
    approver_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """An audit entry for what was done at `at` (now by default), naming the org and till it
    came from, and the customer when it touched one."""
    conn.execute(
        audit_log.insert().values(
            at=at or datetime.now(UTC),
            org_id=till.org.id,
            till_id=till.id,
            operator_id=operator_id,
            approver_id=approver_id,
            action=action,
            customer_id=customer_id,
            detail=detail,
        )
    )
