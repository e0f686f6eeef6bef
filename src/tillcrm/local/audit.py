"""The till's own audit log: who did what here, kept even while the CRM is unreachable.

Rows are written in the same transaction as the action they describe (an override lands
with its op), so the log never claims an action that did not happen, nor misses one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from tillcrm.local.db import TillDatabase

__all__ = ["AuditLog", "AuditRecord"]


@dataclass(frozen=True)
class AuditRecord:
    """One action at this till; an override names both the cashier and the approver."""

    at: datetime
    action: str
    operator_id: str | None = None
    approver_id: str | None = None
    customer_id: UUID | None = None
    op_id: UUID | None = None
    detail: str = ""


class AuditLog:
    """Append and read the `audit` table."""

    def __init__(self, db: TillDatabase) -> None:
        self._db = db

    @staticmethod
    def append(conn: sqlite3.Connection, record: AuditRecord) -> None:
        """Add `record` inside the caller's write transaction."""
        conn.execute(
            "INSERT INTO audit (at, operator_id, approver_id, action, customer_id, op_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.at.astimezone(UTC).isoformat(),
                record.operator_id,
                record.approver_id,
                record.action,
                str(record.customer_id) if record.customer_id else None,
                str(record.op_id) if record.op_id else None,
                record.detail,
            ),
        )

    def recent(self, limit: int = 100, *, customer_id: UUID | None = None) -> list[AuditRecord]:
        """The newest entries first, optionally about one customer."""
        rows = self._db.read(
            "SELECT at, operator_id, approver_id, action, customer_id, op_id, detail FROM audit "
            "WHERE ? IS NULL OR customer_id = ? ORDER BY id DESC LIMIT ?",
            (*[str(customer_id) if customer_id else None] * 2, limit),
        )
        return [
            AuditRecord(
                at=datetime.fromisoformat(row["at"]),
                action=row["action"],
                operator_id=row["operator_id"],
                approver_id=row["approver_id"],
                customer_id=UUID(row["customer_id"]) if row["customer_id"] else None,
                op_id=UUID(row["op_id"]) if row["op_id"] else None,
                detail=row["detail"],
            )
            for row in rows
        ]
