"""The sync queue as a supervisor works it: what waits, what needs review, and the
dead letters with their compensating ops (the queue itself is never edited).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from tillcrm.api import CustomerOut, OpType
from tillcrm.domain import OverrideApproval
from tillcrm.local import NOT_STOPPED, AuditLog, AuditRecord, Meta, OpState, Outbox, OutboxEntry
from tillcrm.till._core import TillCore
from tillcrm.till._results import Declined, EditConflict, Saved

__all__ = ["QueueWork"]

_COMPENSATE = "compensate"
"""The audit action naming the dead op a compensating op makes good."""


class QueueWork(TillCore):
    """The outbox as the supervisor's sync screen lists and repairs it."""

    def queued(self) -> list[OutboxEntry]:
        """Ops waiting for the CRM (needing attention, in a push or pending), oldest first."""
        return (
            self.held()
            + self._outbox.entries(OpState.INFLIGHT)
            + self._outbox.entries(OpState.PENDING)
        )

    def customer_name(self, customer_id: UUID) -> str:
        """The customer an op is about, by name (or number) from the cache; the start of the
        id for one the cache does not hold (a customer since moved out of this till's scope)."""
        customer = self._cache.get(customer_id)
        if customer is None:
            return str(customer_id)[:8]
        profile = customer.profile
        name = f"{profile.first_name} {profile.last_name}".strip() or profile.company
        return name or profile.customer_number or str(customer_id)[:8]

    def held(self) -> list[OutboxEntry]:
        """Ops needing attention: the CRM failed each the same way try after try, and the
        ops after it wait for a supervisor's retry."""
        return self._outbox.entries(OpState.NEEDS_ATTENTION)

    def retry_held(self) -> int:
        """A supervisor's retry of the ops needing attention (and so of the queue they hold);
        returns how many."""
        return self._outbox.retry_held()

    def blocking(self) -> str:
        """Why the queue is not draining, with what to do; empty while it drains."""
        return self._outbox.blocking(self._outbox.head())

    def renumber_unsent(self) -> int | Declined:
        """A supervisor's fix for a queue the CRM stopped taking (a till restored from an old
        copy of its database): the unsent ops take the seqs after the CRM's last one (see
        `Outbox.renumber_unsent`), in the audit log. Returns how many."""
        operator = self._session.require()
        if not operator.role.can_approve:
            return Declined("only a supervisor or manager can renumber the queue")
        if Meta(self._db).seq_stop() is None:
            return Declined(NOT_STOPPED)
        moved = self._outbox.renumber_unsent()
        with self._db.write() as conn:
            AuditLog.append(
                conn,
                AuditRecord(
                    at=self._now(),
                    action="renumber",
                    operator_id=operator.id,
                    detail=f"{moved} unsent op(s) after the CRM's last seq",
                ),
            )
        return moved

    def unsent(self) -> int:
        """How many ops the CRM has not answered: what a shift close warns about."""
        return self._outbox.depth()

    def needs_review(self) -> list[OutboxEntry]:
        """Ops the CRM applied but flagged (an offline overdraft), oldest first."""
        return self._outbox.entries(OpState.NEEDS_REVIEW)

    def dead_letters(self) -> list[OutboxEntry]:
        """Ops the CRM rejected that no compensating op has made good yet, oldest first."""
        done = {
            row[0]
            for row in self._db.read(
                "SELECT op_id FROM audit WHERE action = ? AND op_id IS NOT NULL", (_COMPENSATE,)
            )
        }
        return [e for e in self._outbox.entries(OpState.DEAD) if str(e.op.op_id) not in done]

    def conflict_of(self, dead: OutboxEntry) -> EditConflict | None:
        """For an edit the CRM rejected as stale: the cashier's changes beside the CRM's
        current record (which came back with the rejection)."""
        current = dead.result.get("current")
        if dead.op.type is not OpType.CUSTOMER_UPDATE or not isinstance(current, dict):
            return None
        return EditConflict(
            mine=dict(dead.op.payload.get("changes", {})),
            theirs=CustomerOut.model_validate(current),
            base_version=dead.op.base_version or 0,
        )

    def compensate(
        self,
        dead: OutboxEntry,
        *,
        payload: BaseModel | None = None,
        base_version: int | None = None,
        override: OverrideApproval | None = None,
    ) -> Saved | Declined:
        """Make good a rejected op with a new op (the queue itself is never edited).

        The new op has the dead op's type and customer, with a corrected `payload`,
        `base_version` or `override` where given. Only a supervisor or manager may do it; the
        audit log names the dead op it compensates.
        """
        operator = self._session.require()
        if not operator.role.can_approve:
            return Declined("only a supervisor or manager can compensate a rejected op")
        if dead.state is not OpState.DEAD:
            return Declined("only a rejected op can be compensated")
        body = payload if payload is not None else dead.op.typed_payload()
        refused = Declined.unstorable(body)
        if refused is not None:
            return refused
        offline = not self.online
        now = self._now()
        with self._db.write() as conn:
            op = Outbox.enqueue(
                conn,
                type=dead.op.type,
                entity_id=dead.op.entity_id,
                payload=body,
                operator_id=operator.id,
                base_version=base_version if base_version is not None else dead.op.base_version,
                override=override,
                offline=offline,
                now=now,
            )
            AuditLog.append(
                conn,
                AuditRecord(
                    at=now,
                    action=_COMPENSATE,
                    operator_id=operator.id,
                    customer_id=dead.op.entity_id,
                    op_id=dead.op.op_id,
                    detail=f"by op {op.op_id} (seq {op.seq})",
                ),
            )
        return Saved(op, queued=offline)
