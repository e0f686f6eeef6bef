"""The outbox: gap-free seqs committed with their effect, states, backoff kept in the row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from tests.support.till_db import queue_visits
from tillcrm.api import (
    Op,
    OpResult,
    OpStatus,
    OpType,
    PointsRedeem,
    PushResponse,
    StoredValueLoad,
    VisitPayload,
)
from tillcrm.local import (
    AuditLog,
    AuditRecord,
    Meta,
    OfflineDebits,
    OpState,
    Outbox,
    TillDatabase,
    open_database,
)

CUSTOMER = uuid4()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    yield database
    database.close()


def enqueue(db: TillDatabase, count: int = 1, *, now: datetime | None = None) -> list[Op]:
    """`count` visits of `CUSTOMER`."""
    return queue_visits(db, CUSTOMER, count, now=now)


def answer(ops: list[Op], *statuses: OpStatus, last_seq: int | None = None) -> PushResponse:
    results = [
        OpResult(op_id=op.op_id, seq=op.seq, status=status, reason=f"{status} reason")
        for op, status in zip(ops, statuses, strict=False)
    ]
    last = results[-1].seq if results else 0
    return PushResponse(results=results, last_seq=last_seq if last_seq is not None else last or 0)


def test_seqs_are_gap_free_and_a_rolled_back_op_takes_none(db: TillDatabase) -> None:
    enqueue(db, 2)

    def enqueue_then_fail() -> None:
        with db.write() as conn:
            Outbox.enqueue(
                conn,
                type=OpType.VISIT,
                entity_id=CUSTOMER,
                payload=VisitPayload(),
                operator_id="cashier",
            )
            raise RuntimeError("the cache change failed")

    with pytest.raises(RuntimeError):
        enqueue_then_fail()
    third = enqueue(db)[0]
    assert third.seq == 3
    assert Outbox(db).depth() == 3


def test_an_op_reads_back_as_it_was_enqueued(db: TillDatabase) -> None:
    taken = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with db.write() as conn:
        op = Outbox.enqueue(
            conn,
            type=OpType.POINTS_REDEEM,
            entity_id=CUSTOMER,
            payload=PointsRedeem(points=50, reason="free coffee"),
            operator_id="cashier",
            base_version=4,
            offline=True,
            debit=OfflineDebits(points=50),
            now=taken,
        )
    batch = Outbox(db).next_batch(10, now=0)
    assert batch is not None
    assert batch.ops == [op]
    assert op.typed_payload() == PointsRedeem(points=50, reason="free coffee")
    assert op.op_id.version == 7


def test_a_batch_is_in_seq_order_and_inflight_until_answered(db: TillDatabase) -> None:
    outbox = Outbox(db)
    ops = enqueue(db, 5)
    batch = outbox.next_batch(3, now=0)
    assert batch is not None
    assert [op.seq for op in batch.ops] == [1, 2, 3]
    assert outbox.count(OpState.INFLIGHT) == 3
    second = outbox.next_batch(3, now=0)
    assert second is not None
    assert [op.seq for op in second.ops] == [4, 5]
    assert outbox.next_batch(3, now=0) is None
    assert outbox.depth() == 5
    outbox.record_results(ops[:3], answer(ops[:3], *[OpStatus.APPLIED] * 3))
    assert outbox.depth() == 2
    assert outbox.count(OpState.ACKED) == 3


def test_answers_set_acked_dead_and_needs_review(db: TillDatabase) -> None:
    outbox = Outbox(db)
    ops = enqueue(db, 4)
    batch = outbox.next_batch(10, now=0)
    assert batch is not None
    statuses = (OpStatus.APPLIED, OpStatus.REJECTED, OpStatus.NEEDS_REVIEW, OpStatus.DUPLICATE)
    assert outbox.record_results(batch.ops, answer(ops, *statuses)) is None
    assert outbox.depth() == 0
    assert outbox.count(OpState.ACKED) == 2
    [dead] = outbox.entries(OpState.DEAD)
    assert (dead.op, dead.last_error) == (ops[1], "rejected reason")
    [review] = outbox.entries(OpState.NEEDS_REVIEW)
    assert review.op == ops[2]


def test_ops_the_crm_did_not_answer_go_back_to_pending(db: TillDatabase) -> None:
    outbox = Outbox(db)
    ops = enqueue(db, 3)
    batch = outbox.next_batch(10, now=0)
    assert batch is not None
    assert outbox.record_results(batch.ops, answer(ops, OpStatus.APPLIED)) is None
    again = outbox.next_batch(10, now=0)
    assert again is not None
    assert [op.seq for op in again.ops] == [2, 3]


def test_a_crm_behind_the_till_gets_the_missing_ops_again(db: TillDatabase) -> None:
    outbox = Outbox(db)
    ops = enqueue(db, 4)
    first = outbox.next_batch(2, now=0)
    assert first is not None
    outbox.record_results(first.ops, answer(ops[:2], OpStatus.APPLIED, OpStatus.APPLIED))
    second = outbox.next_batch(2, now=0)
    assert second is not None
    # The CRM was restored from a backup holding only seq 1: it answers nothing (a gap).
    resend_from = outbox.record_results(second.ops, answer([], last_seq=1))
    assert resend_from == 2
    again = outbox.next_batch(10, now=0)
    assert again is not None
    assert [op.seq for op in again.ops] == [2, 3, 4]


def test_a_retry_waits_in_the_row_and_later_ops_never_overtake(db: TillDatabase) -> None:
    outbox = Outbox(db)
    enqueue(db, 2)
    batch = outbox.next_batch(1, now=100)
    assert batch is not None
    assert batch.attempts == 0
    outbox.record_retry([1], delay=30, error="the CRM is unavailable", now=100)
    assert outbox.next_batch(10, now=129) is None
    again = outbox.next_batch(10, now=130)
    assert again is not None
    assert [op.seq for op in again.ops] == [1, 2]
    assert again.attempts == 1
    [pending] = [e for e in outbox.entries(OpState.INFLIGHT) if e.op.seq == 1]
    assert pending.last_error == "the CRM is unavailable"


def test_inflight_ops_are_pending_again_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = open_database(path)
    enqueue(db, 2)
    assert Outbox(db).next_batch(10, now=0) is not None
    db.close()  # the till died between send and answer
    reopened = open_database(path)
    outbox = Outbox(reopened)
    assert outbox.requeue_inflight() == 2
    batch = outbox.next_batch(10, now=0)
    assert batch is not None
    assert [op.seq for op in batch.ops] == [1, 2]
    reopened.close()


def test_release_returns_a_batch_without_counting_a_failure(db: TillDatabase) -> None:
    outbox = Outbox(db)
    enqueue(db)
    batch = outbox.next_batch(10, now=0)
    assert batch is not None
    outbox.release([1])
    again = outbox.next_batch(10, now=0)
    assert again is not None
    assert again.attempts == 0


def test_queue_figures_for_the_status_bar(db: TillDatabase) -> None:
    outbox = Outbox(db)
    assert outbox.head() is None
    taken = datetime.now(UTC) - timedelta(minutes=5)
    enqueue(db, now=taken)
    with db.write() as conn:
        Outbox.enqueue(
            conn,
            type=OpType.STORED_VALUE_LOAD,
            entity_id=CUSTOMER,
            payload=StoredValueLoad(amount=700),
            operator_id="cashier",
            offline=True,
            debit=OfflineDebits(money=700),
        )
        Outbox.enqueue(
            conn,
            type=OpType.POINTS_REDEEM,
            entity_id=CUSTOMER,
            payload=PointsRedeem(points=300, reason="bonus"),
            operator_id="cashier",
            offline=True,
            debit=OfflineDebits(points=300),
        )
        Outbox.enqueue(
            conn,
            type=OpType.POINTS_REDEEM,
            entity_id=CUSTOMER,
            payload=PointsRedeem(points=20, reason="online"),
            operator_id="cashier",
            offline=False,
            debit=OfflineDebits(points=20),
        )
    assert outbox.head().local_ts == taken  # type: ignore[union-attr]
    assert outbox.pending_offline_debits() == OfflineDebits(money=700, points=300)
    batch = outbox.next_batch(10, now=0)
    assert batch is not None
    outbox.record_results(batch.ops, answer(batch.ops, *[OpStatus.APPLIED] * 4))
    assert outbox.pending_offline_debits() == OfflineDebits()
    assert outbox.depth() == 0


def test_the_cursor_and_till_id_are_kept(db: TillDatabase) -> None:
    meta = Meta(db)
    assert meta.cursor() is None
    with db.write() as conn:
        Meta.set_cursor(conn, "c-17")
    assert meta.cursor() == "c-17"
    meta.claim_till_id("till-1")
    meta.claim_till_id("till-1")
    assert meta.till_id() == "till-1"
    with pytest.raises(ValueError, match="belongs to till till-1"):
        meta.claim_till_id("till-2")


def test_an_audit_row_commits_with_its_op_or_not_at_all(db: TillDatabase) -> None:
    log = AuditLog(db)
    with db.write() as conn:
        op = Outbox.enqueue(
            conn,
            type=OpType.POINTS_REDEEM,
            entity_id=CUSTOMER,
            payload=PointsRedeem(points=900, reason="over the offline cap"),
            operator_id="cashier",
        )
        AuditLog.append(
            conn,
            AuditRecord(
                at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
                action="override",
                operator_id="cashier",
                approver_id="super",
                customer_id=CUSTOMER,
                op_id=op.op_id,
                detail="offline cap",
            ),
        )

    def append_then_fail() -> None:
        with db.write() as conn:
            AuditLog.append(conn, AuditRecord(at=datetime.now(UTC), action="lost"))
            raise RuntimeError("the op could not be saved")

    with pytest.raises(RuntimeError):
        append_then_fail()
    [entry] = log.recent()
    assert (entry.action, entry.approver_id, entry.op_id) == ("override", "super", op.op_id)
    assert log.recent(customer_id=CUSTOMER) == [entry]
    assert log.recent(customer_id=uuid4()) == []
