"""Audit entries for writes a till makes over REST outside the op registry (a card number
revealed, a wallet card saved or forgotten): the registry's ops audit themselves."""

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
    customer_id: UUID,
    *,
    action: str,
    detail: str,
    approver_id: str | None = None,
) -> None:
    """An audit entry for a write made now, naming the org and till it came from."""
    conn.execute(
        audit_log.insert().values(
            at=datetime.now(UTC),
            org_id=till.org.id,
            till_id=till.id,
            operator_id=operator_id,
            approver_id=approver_id,
            action=action,
            customer_id=customer_id,
            detail=detail,
        )
    )
