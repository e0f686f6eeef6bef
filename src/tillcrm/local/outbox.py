"""The durable outbox: every op the till accepts, in a gap-free seq, until the CRM answers it.

`enqueue` runs inside the caller's write transaction together with the cache change it
describes, so the op and its effect commit (and are fsynced) together, or neither does.
An op's life: pending -> inflight (in a push request) -> acked (applied or duplicate), dead
(the CRM rejected it; a supervisor compensates with a new op, the queue is never edited) or
needs_review (applied but flagged). One the CRM keeps failing with the same server error
waits in needs_attention, holding the ops after it (the CRM applies seqs in order), until a
supervisor retries it. Ops are never deleted: the seq stays gap-free and the
dead-letter screen keeps the CRM's reason.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from tillcrm.api import Op, OpStatus, OpType, PushResponse, encoded_op, push_body_sizes
from tillcrm.domain import OverrideApproval
from tillcrm.domain.ids import new_id
from tillcrm.local.db import TillDatabase
from tillcrm.local.meta import Meta

__all__ = [
    "NOT_STOPPED",
    "Batch",
    "OfflineDebits",
    "OpState",
    "Outbox",
    "OutboxEntry",
    "QueueHead",
]

NOT_STOPPED = "the CRM has not stopped taking this till's ops: nothing to renumber"
"""Why a renumber is refused when the queue is not stopped (see `Outbox.renumber_unsent`)."""


class OpState(StrEnum):
    """Where an outbox op stands."""

    PENDING = "pending"
    INFLIGHT = "inflight"
    ACKED = "acked"
    DEAD = "dead"
    NEEDS_REVIEW = "needs_review"
    NEEDS_ATTENTION = "needs_attention"
    """Unsent: the CRM failed it the same way try after try; a supervisor retries it."""


LONGEST_RETRY_WAIT = 24 * 3600.0
"""No backoff or `Retry-After` the till honours is longer than this many seconds (the sync
engine passes its own, shorter, backoff cap)."""

_UNSENT = (OpState.PENDING.value, OpState.INFLIGHT.value, OpState.NEEDS_ATTENTION.value)

_STATE_OF_STATUS = {
    OpStatus.APPLIED: OpState.ACKED,
    OpStatus.DUPLICATE: OpState.ACKED,
    OpStatus.REJECTED: OpState.DEAD,
    OpStatus.NEEDS_REVIEW: OpState.NEEDS_REVIEW,
}


@dataclass(frozen=True)
class OutboxEntry:
    """An op with its queue state, as the dead-letter and review screens list it."""

    op: Op
    state: OpState
    attempts: int
    last_error: str
    """The CRM's reason for a dead or flagged op; the last failure for a pending one."""
    result: dict[str, Any]


@dataclass(frozen=True)
class OfflineDebits:
    """Money (minor units) and points taken offline: capped apart, never added together."""

    money: int = 0
    points: int = 0


@dataclass(frozen=True)
class QueueHead:
    """The oldest op the CRM has not answered: what holds the queue back, if anything."""

    seq: int
    local_ts: datetime
    """When it was taken (the till's clock)."""
    attempts: int
    last_error: str
    """Its last failure; empty if it has not failed."""
    held: bool = False
    """It needs attention: no push goes until a supervisor retries it."""

    @property
    def blocking(self) -> str:
        """Why the queue is not draining, as a sentence; empty while the head has not failed.
        It is kept in the row, so it stays until the op is answered, across restarts."""
        if self.held:
            return (
                f"op {self.seq} needs attention, the CRM failed it {self.attempts} times: "
                f"{self.last_error}. The ops after it wait (the CRM takes them in order): a "
                "supervisor retries it on the sync screen; if it fails again, call support"
            )
        if not self.attempts:
            return ""
        return f"op {self.seq} not sent after {self.attempts} tries: {self.last_error}"


@dataclass(frozen=True)
class Batch:
    """Ops taken for one push, in seq order, now inflight."""

    ops: list[Op]
    attempts: int
    """Failed tries of the batch's first op so far, for the next backoff."""
    body_bytes: int
    """The size of its push body (`push_body`)."""


class Outbox:
    """The `outbox` table."""

    def __init__(self, db: TillDatabase) -> None:
        self._db = db

    # -- writing ops -------------------------------------------------------------------------

    @staticmethod
    def enqueue(
        conn: sqlite3.Connection,
        *,
        type: OpType,
        entity_id: UUID,
        payload: BaseModel,
        operator_id: str,
        base_version: int | None = None,
        override: OverrideApproval | None = None,
        offline: bool = False,
        debit: OfflineDebits | None = None,
        now: datetime | None = None,
    ) -> Op:
        """Append an op inside the caller's write transaction and return it with its seq.

        `debit` is the money and the points the op takes from the customer's accounts while
        offline, counted against the per-till offline caps until the CRM answers.
        """
        debit = debit or OfflineDebits()
        seq = int(conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM outbox").fetchone()[0])
        op = Op(
            op_id=new_id(),
            seq=seq,
            type=type,
            entity_id=entity_id,
            base_version=base_version,
            payload=payload.model_dump(mode="json"),
            local_ts=now or datetime.now(UTC),
            operator_id=operator_id,
            override=override,
            offline=offline,
        )
        conn.execute(
            "INSERT INTO outbox (seq, op_id, type, entity_id, base_version, payload, local_ts, "
            "operator_id, override, offline, debit, debit_points, state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                str(op.op_id),
                op.type.value,
                str(op.entity_id),
                op.base_version,
                json.dumps(op.payload),
                op.local_ts.astimezone(UTC).isoformat(),
                op.operator_id,
                override.model_dump_json() if override else None,
                offline,
                debit.money,
                debit.points,
                OpState.PENDING.value,
            ),
        )
        return op

    # -- the sync engine's side --------------------------------------------------------------

    def requeue_inflight(self) -> int:
        """At start-up: ops sent but never answered go back to pending (the CRM will answer a
        resend as a duplicate if it applied them). Returns how many."""
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE outbox SET state = ? WHERE state = ?",
                (OpState.PENDING.value, OpState.INFLIGHT.value),
            ).rowcount

    def next_batch(
        self,
        limit: int,
        now: float | None,
        *,
        longest_wait: float = LONGEST_RETRY_WAIT,
        max_bytes: int | None = None,
    ) -> Batch | None:
        """Take up to `limit` pending ops in seq order, their push body within `max_bytes`
        (`_within`; None: by count alone), and mark them inflight.

        None when nothing is pending, when an op needing attention comes first (the ops
        after it stop there), or when the first pending op is still waiting out its
        backoff at wall time `now`: later ops never overtake it, the CRM applies in seq
        order. A stored wait more than `longest_wait` ahead of `now` is one the till never
        set: the clock was put back, and the op is due. `now` None: the caller timed the wait
        itself (on a monotonic clock) and it is over.
        """
        with self._db.write() as conn:
            rows = conn.execute(
                f"SELECT {_OP_COLUMNS}, attempts, next_attempt_at, state FROM outbox "  # noqa: S608
                "WHERE state IN (?, ?) ORDER BY seq LIMIT ?",
                (OpState.PENDING.value, OpState.NEEDS_ATTENTION.value, limit),
            ).fetchall()
            held = [i for i, row in enumerate(rows) if row["state"] != OpState.PENDING.value]
            rows = rows[: held[0]] if held else rows
            if not rows or (
                now is not None and not _due(rows[0]["next_attempt_at"], now, longest_wait)
            ):
                return None
            ops, body_bytes = _within([_op(row) for row in rows], max_bytes)
            conn.execute(
                "UPDATE outbox SET state = ? WHERE state = ? AND seq BETWEEN ? AND ?",
                (OpState.INFLIGHT.value, OpState.PENDING.value, ops[0].seq, ops[-1].seq),
            )
        return Batch(ops=ops, attempts=int(rows[0]["attempts"]), body_bytes=body_bytes)

    def record_results(self, sent: list[Op], response: PushResponse) -> int | None:
        """Apply the CRM's answers; sent ops it did not answer go back to pending.

        Returns the seq to resend from when the CRM's `last_seq` shows it lacks ops the till
        holds as answered (its database was restored), else None. Those ops are made pending
        again: the CRM answers each once, and seq order holds.
        """
        acked_at = datetime.now(UTC).isoformat()
        answered = {result.op_id for result in response.results}
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = ?, last_error = ?, result = ?, acked_at = ? "
                "WHERE op_id = ? AND state = ?",
                [
                    (
                        _STATE_OF_STATUS[result.status].value,
                        result.reason,
                        json.dumps(result.result),
                        acked_at,
                        str(result.op_id),
                        OpState.INFLIGHT.value,
                    )
                    for result in response.results
                ],
            )
            conn.executemany(
                "UPDATE outbox SET state = ? WHERE op_id = ? AND state = ?",
                [
                    (OpState.PENDING.value, str(op.op_id), OpState.INFLIGHT.value)
                    for op in sent
                    if op.op_id not in answered
                ],
            )
            resend_from = response.last_seq + 1
            behind = conn.execute(
                "UPDATE outbox SET state = ?, acked_at = NULL WHERE seq >= ? AND state NOT IN "
                "(?, ?, ?) AND result IS NOT NULL",
                (OpState.PENDING.value, resend_from, *_UNSENT),
            ).rowcount
        return resend_from if behind else None

    def record_retry(self, seqs: list[int], delay: float, error: str, now: float) -> None:
        """The push of these ops failed in a way worth retrying: back to pending, not before
        `now + delay` (kept in the row, so a restart does not hammer the CRM)."""
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, next_attempt_at = ?, "
                "last_error = ? WHERE seq = ? AND state = ?",
                [
                    (
                        OpState.PENDING.value,
                        now + min(delay, LONGEST_RETRY_WAIT),
                        error,
                        seq,
                        OpState.INFLIGHT.value,
                    )
                    for seq in seqs
                ],
            )

    def record_dead(self, seq: int, reason: str) -> None:
        """The CRM refused this inflight op outright (its push was refused for it alone): dead,
        with the CRM's reason, for the supervisor's dead-letter list. It has no stored answer
        (`result` stays NULL), so a CRM that never took its seq does not bring it back to
        pending in `record_results`."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE outbox SET state = ?, last_error = ?, acked_at = ? "
                "WHERE seq = ? AND state = ?",
                (
                    OpState.DEAD.value,
                    reason,
                    datetime.now(UTC).isoformat(),
                    seq,
                    OpState.INFLIGHT.value,
                ),
            )

    def hold(self, seq: int, error: str) -> None:
        """The CRM failed this inflight op the same way too many times: it needs attention,
        and holds the ops after it until `retry_held`."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ? "
                "WHERE seq = ? AND state = ?",
                (OpState.NEEDS_ATTENTION.value, error, seq, OpState.INFLIGHT.value),
            )

    def retry_held(self) -> int:
        """A supervisor's retry: ops needing attention go back to pending, due now, with
        their count of tries reset. Returns how many."""
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE outbox SET state = ?, attempts = 0, next_attempt_at = 0 WHERE state = ?",
                (OpState.PENDING.value, OpState.NEEDS_ATTENTION.value),
            ).rowcount

    def release(self, seqs: list[int]) -> None:
        """Put inflight ops back to pending without counting a failure (the push was not
        attempted, for example the till lost its authorization)."""
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = ? WHERE seq = ? AND state = ?",
                [(OpState.PENDING.value, seq, OpState.INFLIGHT.value) for seq in seqs],
            )

    def renumber_unsent(self) -> int:
        """A supervisor's fix for a queue the CRM stopped taking (see `Meta.seq_stop`): the
        unsent ops, in their order, take the seqs after the CRM's last one, so it takes them.
        Returns how many (0 when the CRM has not stopped).

        Nothing is lost or doubled: an op the CRM applied under its old seq (a till restored
        from an old copy still holds it unsent) is recognised by its op id and answered as a
        duplicate. A dead op the CRM never took (it refused its push whole, so it has no
        stored answer) after the CRM's last seq leaves the numbering: its seq goes below zero,
        where no push looks, and it stays listed for the supervisor without one.
        """
        stop = Meta(self._db).seq_stop()
        if stop is None:
            return 0
        last = stop.crm_last_seq
        with self._db.write() as conn:
            unsent = [
                int(row[0])
                for row in conn.execute(
                    "SELECT seq FROM outbox WHERE state IN (?, ?, ?) ORDER BY seq", _UNSENT
                )
            ]
            never_taken = [
                int(row[0])
                for row in conn.execute(
                    "SELECT seq FROM outbox WHERE seq > ? AND state = ? AND result IS NULL "
                    "ORDER BY seq",
                    (last, OpState.DEAD.value),
                )
            ]
            lowest = int(
                conn.execute("SELECT min(coalesce(min(seq), 0), 0) FROM outbox").fetchone()[0]
            )
            top = int(conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])
            out_of_the_way = top + last + len(unsent)  # past every seq, old and new
            moves = (
                [(lowest - 1 - i, seq) for i, seq in enumerate(never_taken)]
                + [(seq + out_of_the_way, seq) for seq in unsent]
                + [(last + 1 + i, seq + out_of_the_way) for i, seq in enumerate(unsent)]
            )
            conn.executemany("UPDATE outbox SET seq = ? WHERE seq = ?", moves)
            conn.execute("UPDATE outbox SET next_attempt_at = 0 WHERE state IN (?, ?, ?)", _UNSENT)
            Meta.set_seq_stop(conn, None)
        return len(unsent)

    # -- what the screens show ---------------------------------------------------------------

    def blocking(self, head: QueueHead | None) -> str:
        """Why the queue is not draining, as a sentence; empty while it drains: where the CRM
        stopped taking the till's ops (kept until a push gets past it), else the failure of
        the queue's `head`."""
        stop = Meta(self._db).seq_stop()
        if stop is not None:
            return stop.problem
        return head.blocking if head is not None else ""

    def depth(self) -> int:
        """Ops not yet answered by the CRM."""
        return int(
            self._db.read("SELECT count(*) FROM outbox WHERE state IN (?, ?, ?)", _UNSENT)[0][0]
        )

    def head(self) -> QueueHead | None:
        """The oldest unanswered op, None when the queue is empty.

        The lowest seq of each unsent state is one step of the (state, seq) index, and the
        row is read by its seq: `state IN (...) ORDER BY seq` sorted every unsent op, and the
        status bar asks this after each op a cashier saves, however long the queue offline."""
        rows = self._db.read(
            "SELECT seq, local_ts, attempts, last_error, state FROM outbox WHERE seq = ("
            "SELECT min(seq) FROM (SELECT min(seq) AS seq FROM outbox WHERE state = ? "
            "UNION ALL SELECT min(seq) FROM outbox WHERE state = ? "
            "UNION ALL SELECT min(seq) FROM outbox WHERE state = ?))",
            _UNSENT,
        )
        if not rows:
            return None
        seq, local_ts, attempts, last_error, state = rows[0]
        return QueueHead(
            seq,
            datetime.fromisoformat(local_ts),
            int(attempts),
            last_error or "",
            held=state == OpState.NEEDS_ATTENTION.value,
        )

    def count(self, state: OpState) -> int:
        """How many ops are in `state`."""
        return int(
            self._db.read("SELECT count(*) FROM outbox WHERE state = ?", (state.value,))[0][0]
        )

    def entries(self, state: OpState, limit: int = 200) -> list[OutboxEntry]:
        """Ops in `state`, oldest first: the dead-letter list, the needs-review list."""
        rows = self._db.read(
            f"SELECT {_OP_COLUMNS}, state, attempts, last_error, result FROM outbox "  # noqa: S608
            "WHERE state = ? ORDER BY seq LIMIT ?",
            (state.value, limit),
        )
        return [
            OutboxEntry(
                op=_op(row),
                state=OpState(row["state"]),
                attempts=int(row["attempts"]),
                last_error=row["last_error"],
                result=json.loads(row["result"]) if row["result"] else {},
            )
            for row in rows
        ]

    def pending_offline_debits(self) -> OfflineDebits:
        """Offline debits the CRM has not answered yet: what the per-till offline caps limit."""
        rows = self._db.read(
            "SELECT coalesce(sum(debit), 0), coalesce(sum(debit_points), 0) FROM outbox "
            "WHERE offline AND state IN (?, ?, ?)",
            _UNSENT,
        )
        return OfflineDebits(money=int(rows[0][0]), points=int(rows[0][1]))

    @staticmethod
    def customers_with_unsent(conn: sqlite3.Connection, customer_ids: Sequence[str]) -> set[str]:
        """Which of these customers have ops the CRM has not answered yet that change what the
        cache shows (a visit changes nothing): their cached record holds those ops' effect,
        which the CRM's record lacks until they sync, so nothing may overwrite it before."""
        rows = conn.execute(
            f"SELECT DISTINCT entity_id FROM outbox WHERE {_UNSENT_CHANGE} "  # noqa: S608
            "AND entity_id IN (SELECT value FROM json_each(?))",
            (*_UNSENT_CHANGE_PARAMS, json.dumps(list(customer_ids))),
        ).fetchall()
        return {row[0] for row in rows}

    def unsent_payloads(self, customer_id: UUID, type: OpType) -> list[dict[str, Any]]:
        """Payloads of this customer's `type` ops the CRM has not answered yet: what a view the
        CRM serves (not cached) must show as already done."""
        rows = self._db.read(
            "SELECT payload FROM outbox WHERE state IN (?, ?, ?) AND type = ? AND entity_id = ?",
            (*_UNSENT, type.value, str(customer_id)),
        )
        return [json.loads(row["payload"]) for row in rows]

    def approval_used(self, approval_id: UUID) -> bool:
        """Whether an op already carries this supervisor approval (one approval, one action)."""
        return bool(
            self._db.read(
                "SELECT 1 FROM outbox WHERE override IS NOT NULL "
                "AND json_extract(override, '$.approval_id') = ? LIMIT 1",
                (str(approval_id),),
            )
        )

    def changes_of(self, customer_id: UUID) -> tuple[int, int]:
        """The seq of the till's newest op, and how many of this customer's ops that change
        what the cache shows the CRM has not answered yet. Read before and after asking the
        CRM for the customer, it tells whether the answer can be stored: only if both readings
        are the same and nothing is unanswered, the CRM's record holds every op of this till.
        Both are index reads (the seq is the rowid; unanswered ops by state), however long
        the outbox's history."""
        row = self._db.read(
            "SELECT (SELECT coalesce(max(seq), 0) FROM outbox), "  # noqa: S608
            f"(SELECT count(*) FROM outbox WHERE {_UNSENT_CHANGE} AND entity_id = ?)",
            (*_UNSENT_CHANGE_PARAMS, str(customer_id)),
        )[0]
        return int(row[0]), int(row[1])


_UNSENT_CHANGE = "state IN (?, ?, ?) AND type != ?"
"""An op the CRM has not answered yet that changes what the cache shows (a visit changes
nothing), with `_UNSENT_CHANGE_PARAMS`: one condition for `customers_with_unsent` and
`changes_of`."""
_UNSENT_CHANGE_PARAMS = (*_UNSENT, OpType.VISIT.value)


_OP_COLUMNS = (  # a constant column list: the f-strings above never take input
    "seq, op_id, type, entity_id, base_version, payload, local_ts, operator_id, override, offline"
)


def _op(row: sqlite3.Row) -> Op:
    """The row's op; one out of the CRM's numbering (`renumber_unsent`) has no seq."""
    return Op(
        op_id=UUID(row["op_id"]),
        seq=row["seq"] if row["seq"] > 0 else None,
        type=OpType(row["type"]),
        entity_id=UUID(row["entity_id"]),
        base_version=row["base_version"],
        payload=json.loads(row["payload"]),
        local_ts=datetime.fromisoformat(row["local_ts"]),
        operator_id=row["operator_id"],
        override=OverrideApproval.model_validate_json(row["override"]) if row["override"] else None,
        offline=bool(row["offline"]),
    )


def _within(ops: list[Op], max_bytes: int | None) -> tuple[list[Op], int]:
    """The first of `ops` whose push body fits in `max_bytes`, and that body's size: at least
    the first op, however large, so one too large for the CRM is sent (or refused) alone."""
    sizes = push_body_sizes(len(encoded_op(op)) for op in ops)
    fit = len(ops) if max_bytes is None else sum(size <= max_bytes for size in sizes)
    taken = max(fit, 1)
    return ops[:taken], sizes[taken - 1]


def _due(next_attempt_at: float, now: float, longest_wait: float) -> bool:
    """Whether an op waiting out a retry may be sent at `now`.

    The wait is stored as a wall-clock time. A wait longer than any the till sets
    (`longest_wait`) means the clock was put back since it was stored (a till running
    ahead, then corrected): the op is due at once rather than holding the queue back.
    """
    return next_attempt_at <= now or next_attempt_at - now > longest_wait
