"""Sync protocol over HTTP: push applies each op exactly once in seq order; pull pages the scope."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, put_card, sale
from tests.support.world import ORGS, World
from tillcrm.api import CustomerOut, OpType, PullResponse, SalePayload
from tillcrm.domain import AuthorizedUser, IdentifierKind, TillScope
from tillcrm.server.db import insert_later, reading, writing
from tillcrm.server.errors import ApiError
from tillcrm.server.ops import APPLIERS, OpContext, Outcome
from tillcrm.server.routes.sync import PUSH_SLOTS
from tillcrm.server.scope import visible_in
from tillcrm.server.tables import (
    applied_ops,
    audit_log,
    authorized_users,
    customer_registrations,
    customers,
    identifiers,
    points_accounts,
    points_ledger,
    stored_value_ledger,
    transactions,
)


def _points_rows(world: World, customer: UUID) -> int:
    with reading(world.crm.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(points_ledger.c.customer_id == customer)
            ).scalar_one()
        )


def _points(world: World, customer: UUID) -> int:
    with reading(world.crm.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(points_accounts.c.balance), 0)).where(
                    points_accounts.c.customer_id == customer
                )
            ).scalar_one()
        )


# -- push ---------------------------------------------------------------------------------------


def test_an_op_pushed_twice_applies_once_and_answers_the_same(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Twice")
    with Outbox(world, "pool.a") as till:
        op = till.op(OpType.SALE, customer, sale(("cash", 1500)))
        [first] = till.apply(op)
        [again] = till.apply(op)
    assert first["status"] == "applied"
    assert first["result"]["points_earned"] == 15
    assert again["status"] == "duplicate"
    assert again["result"] == first["result"]
    assert again["seq"] == first["seq"] == op["seq"]
    assert _points_rows(world, customer) == 1
    assert _points(world, customer) == 15


def test_the_same_op_id_with_another_payload_is_rejected_and_blocks_nothing(
    world: World,
) -> None:
    customer = put_customer(world, "pool", None, first_name="Reused")
    with Outbox(world, "pool.a") as till:
        op = till.op(OpType.SALE, customer, sale(("cash", 1000)))
        till.apply(op)
        fresh = till.op(OpType.SALE, customer, sale(("cash", 700)))
        tampered = {**op, "payload": sale(("cash", 9000))}
        refused, applied = till.apply(tampered, fresh)
        assert refused["status"] == "rejected"
        assert str(op["op_id"]) in refused["reason"]
        assert "different payload" in refused["reason"]
        assert applied["status"] == "applied"
        assert till.last_seq() == fresh["seq"]
    assert _points_rows(world, customer) == 2
    assert _points(world, customer) == 17


def test_a_seq_applied_under_another_op_stops_the_batch_and_says_so(world: World) -> None:
    """A batch reusing an applied seq for another op (a till restored from an old copy of its
    database) is answered up to that op, then stops with the CRM's last seq and why: nothing
    new applies, and the resends before it are recognised by their op ids."""
    customer = put_customer(world, "pool", None, first_name="Seqs")
    with Outbox(world, "pool.a") as till:
        first, second = (till.op(OpType.SALE, customer, sale(("cash", 100))) for _ in (1, 2))
        till.apply(first, second)
        impostor = {**till.op(OpType.SALE, customer, sale(("cash", 200))), "seq": second["seq"]}
        fresh = till.op(OpType.SALE, customer, sale(("cash", 400)))
        response = till.push(first, impostor, fresh)
        assert response.status_code == 200
        body = response.json()
        assert [r["status"] for r in body["results"]] == ["duplicate"]
        assert body["last_seq"] == second["seq"]
        assert body["stopped"]["seq"] == second["seq"]
        assert body["stopped"]["reason"] == "seq_taken"
        assert body["stopped"]["detail"].startswith(
            f"seq {second['seq']} was already used by op {second['op_id']}"
        )
        assert till.last_seq() == second["seq"]
    assert _points(world, customer) == 2


def test_an_op_answered_under_another_seq_is_recognised_by_its_op_id(world: World) -> None:
    """A till that renumbered its unsent ops resends one the CRM already applied under its old
    seq: it is answered as a duplicate, takes the new seq, and applies nothing again."""
    customer = put_customer(world, "pool", None, first_name="Renumbered")
    with Outbox(world, "pool.a") as till:
        first = till.op(OpType.SALE, customer, sale(("cash", 100)))
        till.apply(first)
        moved = {**first, "seq": till.op(OpType.VISIT, customer, {})["seq"]}
        after = till.op(OpType.SALE, customer, sale(("cash", 300)))
        results = till.apply(moved, after)
        assert [r["status"] for r in results] == ["duplicate", "applied"]
        assert till.last_seq() == after["seq"]
    assert _points(world, customer) == 4


@pytest.mark.parametrize(
    "unreadable",
    [
        {"type": "loyalty_teleport"},
        {"base_version": "seven"},
        {"local_ts": "yesterday"},
    ],
    ids=["unknown type", "bad base_version", "bad local_ts"],
)
def test_an_op_the_crm_cannot_read_is_rejected_alone_and_its_seq_advances(
    world: World, unreadable: dict[str, Any]
) -> None:
    """An op of a type or with a field this CRM does not know (a newer till's) no longer
    refuses the whole push: it is rejected for its seq, the ops after it apply, and a resend
    of it gets the same answer."""
    customer = put_customer(world, "pool", None, first_name="Newer")
    with Outbox(world, "pool.a") as till:
        before = till.op(OpType.SALE, customer, sale(("cash", 100)))
        odd = {**till.op(OpType.VISIT, customer, {}), **unreadable}
        after = till.op(OpType.SALE, customer, sale(("cash", 200)))
        results = till.apply(before, odd, after)
        assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
        assert results[1]["reason"].startswith("this CRM cannot read the op: ")
        assert till.last_seq() == after["seq"]
        [again] = till.apply(odd)
        assert (again["status"], again["reason"]) == ("rejected", results[1]["reason"])
    assert _points(world, customer) == 3


def test_an_op_type_the_crm_does_not_take_is_rejected_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CRM built without one op type's applier rejects that type's ops for their seqs."""
    monkeypatch.delitem(APPLIERS, OpType.POINTS_REDEEM)
    customer = put_customer(world, "pool", None, first_name="Older")
    with Outbox(world, "pool.a") as till:
        redeem = till.op(OpType.POINTS_REDEEM, customer, {"points": 1, "reason": "mug"})
        after = till.op(OpType.SALE, customer, sale(("cash", 200)))
        results = till.apply(redeem, after)
        assert [r["status"] for r in results] == ["rejected", "applied"]
        assert results[0]["reason"] == "this CRM does not take points_redeem ops"
        assert till.last_seq() == after["seq"]
    assert _points(world, customer) == 2


def test_a_gap_stops_the_batch_until_the_missing_op_arrives(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Gappy")
    with Outbox(world, "pool.a") as till:
        first, second, third = (
            till.op(OpType.SALE, customer, sale(("cash", 100 * n))) for n in (1, 2, 3)
        )
        response = till.push(first, third)
        assert response.status_code == 200
        body = response.json()
        assert [r["op_id"] for r in body["results"]] == [first["op_id"]]
        assert body["last_seq"] == first["seq"]
        assert _points(world, customer) == 1

        response = till.push(third)
        body = response.json()
        assert (body["results"], body["last_seq"]) == ([], first["seq"])
        assert body["stopped"]["reason"] == "gap"
        assert body["stopped"]["seq"] == third["seq"]
        assert f"op {second['seq']} has not reached it" in body["stopped"]["detail"]

        results = till.apply(second, third)
        assert [r["status"] for r in results] == ["applied", "applied"]
        assert till.last_seq() == third["seq"]
    assert _points(world, customer) == 6


def test_a_rejection_is_answered_and_seq_still_advances(world: World) -> None:
    ours = put_customer(world, "brand", "a", first_name="Ours")
    theirs = put_customer(world, "brand", "b", first_name="Theirs")
    with Outbox(world, "brand.a") as till:
        other_brand = till.op(OpType.SALE, theirs, sale(("cash", 500)))
        unknown = till.op(OpType.VISIT, uuid4(), {"method": "barcode"})
        fine = till.op(OpType.SALE, ours, sale(("cash", 500)))
        results = till.apply(other_brand, unknown, fine)
        assert [r["status"] for r in results] == ["rejected", "rejected", "applied"]
        assert results[0]["reason"] == results[1]["reason"] == "customer not found"
        assert till.last_seq() == fine["seq"]
        [again] = till.apply(other_brand)
        # A resent rejection is rejected again: a till whose first answer was lost must still
        # see it as a dead letter, not as acknowledged.
        assert again["status"] == "rejected"
        assert again["reason"] == "customer not found"
    assert _points_rows(world, theirs) == 0


def _answers_and_receipts(world: World, customer: UUID) -> tuple[int, int]:
    """What `customer`'s sales left behind: (points ledger rows, receipts)."""
    with reading(world.crm.engine) as conn:
        receipts = conn.execute(
            sa.select(sa.func.count()).where(transactions.c.customer_id == customer)
        ).scalar_one()
    return _points_rows(world, customer), int(receipts)


def _answered(world: World, ops: list[dict[str, Any]]) -> int:
    """How many of `ops` the CRM has recorded an answer for."""
    with reading(world.crm.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    applied_ops.c.op_id.in_([UUID(op["op_id"]) for op in ops])
                )
            ).scalar_one()
        )


def test_a_rejection_inside_a_batch_keeps_every_other_op_of_it_once(world: World) -> None:
    """The batch is first tried all or nothing; op 3's rejection undoes that try, and the
    op-by-op pass answers the batch as if it never happened."""
    customer = put_customer(world, "pool", None, first_name="Middle")
    with Outbox(world, "pool.a") as till:
        batch = [till.op(OpType.SALE, customer, sale(("cash", 100 * n))) for n in (1, 2, 3, 4, 5)]
        batch[2] = {**batch[2], "entity_id": str(uuid4())}
        results = till.apply(*batch)
        assert [r["status"] for r in results] == ["applied"] * 2 + ["rejected"] + ["applied"] * 2
        assert results[2]["reason"] == "customer not found"
        assert [r["result"]["points_balance"] for r in results if r["result"]] == [1, 3, 7, 12]
        assert till.last_seq() == batch[-1]["seq"]
        again = till.apply(*batch)
    assert [r["status"] for r in again] == ["duplicate"] * 2 + ["rejected"] + ["duplicate"] * 2
    assert _answers_and_receipts(world, customer) == (4, 4)
    assert _answered(world, batch) == 5
    assert _points(world, customer) == 12


def test_a_receipt_refused_at_the_commit_is_rejected_alone(world: World) -> None:
    """A receipt goes in at the COMMIT of the all-or-nothing try, so a transaction id used
    twice in one batch is refused there; the op-by-op pass rejects only the second sale."""
    customer = put_customer(world, "pool", None, first_name="Receipt")
    with Outbox(world, "pool.a") as till:
        batch = [till.op(OpType.SALE, customer, sale(("cash", 100 * n))) for n in (1, 2, 3, 4, 5)]
        reused = batch[0]["payload"]["transaction_id"]
        batch[2] = {**batch[2], "payload": {**batch[2]["payload"], "transaction_id": reused}}
        results = till.apply(*batch)
        assert till.last_seq() == batch[-1]["seq"]
    assert [r["status"] for r in results] == ["applied"] * 2 + ["rejected"] + ["applied"] * 2
    assert results[2]["reason"] == f"transaction {reused} is already recorded"
    assert _answers_and_receipts(world, customer) == (4, 4)
    assert _answered(world, batch) == 5


def test_an_op_that_fails_unexpectedly_keeps_the_ops_before_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that is not an answer (a bug, a lost connection) fails the batch's request, as
    when each op committed alone: the ops before it are kept, it and the rest are resent."""
    customer = put_customer(world, "pool", None, first_name="Broken")
    record_sale = APPLIERS[OpType.SALE]

    def fails_on_300(ctx: OpContext, payload: SalePayload) -> Outcome:
        if payload.lines[0].unit_price == 300:
            raise ApiError(503, "unavailable", "the disk is on fire")
        return record_sale(ctx, payload)

    with Outbox(world, "pool.a") as till:
        batch = [till.op(OpType.SALE, customer, sale(("cash", 100 * n))) for n in (1, 2, 3, 4, 5)]
        monkeypatch.setitem(APPLIERS, OpType.SALE, fails_on_300)
        response = till.push(*batch)
        assert response.status_code == 503
        assert till.last_seq() == batch[1]["seq"]
        assert _answers_and_receipts(world, customer) == (2, 2)
        monkeypatch.setitem(APPLIERS, OpType.SALE, record_sale)
        results = till.apply(*batch)
    assert [r["status"] for r in results] == ["duplicate"] * 2 + ["applied"] * 3
    assert _answers_and_receipts(world, customer) == (5, 5)
    assert _answered(world, batch) == 5


@contextmanager
def _customer_locked(world: World, customer: UUID) -> Iterator[Callable[[int], None]]:
    """On PostgreSQL, hold the customer's row lock until the block ends, and give a function
    that waits until `n` other sessions are queued on locks: both pushes are then inside
    their first op at once, the moment a missing till lock would let them both apply it.
    SQLite serializes writers by itself: nothing to hold there."""
    if world.crm.engine.dialect.name != "postgresql":
        yield lambda _n: None
        return

    def wait_for(n: int) -> None:
        with world.crm.engine.connect() as probe:
            for _ in range(2000):
                waiting = probe.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
                probe.rollback()
                if waiting >= n:
                    return
                time.sleep(0.01)
        raise AssertionError(f"{n} sessions never queued on a lock")

    with world.crm.engine.begin() as holder:
        holder.execute(
            sa.select(customers.c.id).where(customers.c.id == customer).with_for_update()
        )
        yield wait_for


def test_two_connections_pushing_one_batch_at_once_apply_it_once(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Racy")
    with Outbox(world, "pool.b") as till:
        batch = [till.op(OpType.SALE, customer, sale(("cash", 100))) for _ in range(40)]
        responses: list[httpx.Response] = []

        def push_batch() -> None:
            with world.client("pool.b") as http:
                responses.append(http.post("/sync/push", json={"ops": batch}))

        threads = [threading.Thread(target=push_batch) for _ in range(2)]
        with _customer_locked(world, customer) as wait_for:
            for thread in threads:
                thread.start()
            wait_for(2)
        for thread in threads:
            thread.join()
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    answers = [r.json() for r in responses]
    for answer in answers:
        assert answer["last_seq"] == batch[-1]["seq"]
        assert len(answer["results"]) == 40
    statuses = [r["status"] for answer in answers for r in answer["results"]]
    assert statuses.count("applied") == 40
    assert statuses.count("duplicate") == 40
    assert _points_rows(world, customer) == 40
    assert _points(world, customer) == 40


def test_two_requests_with_one_idempotency_key_at_once_apply_it_once(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Twin")
    put_card(world, customer, 1_000)
    headers = {"X-Operator-Id": "pool-cashier", "Idempotency-Key": str(uuid4())}
    responses: list[httpx.Response] = []

    def load() -> None:
        with world.client("pool.a") as http:
            responses.append(
                http.post(
                    f"/customers/{customer}/stored-value/load",
                    json={"amount": 2_500},
                    headers=headers,
                )
            )

    threads = [threading.Thread(target=load) for _ in range(2)]
    with _customer_locked(world, customer) as wait_for:
        for thread in threads:
            thread.start()
        wait_for(2)  # both have looked for an earlier answer and found none
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert [r.json()["balance"] for r in responses] == [3_500, 3_500]
    with reading(world.crm.engine) as conn:
        loads = conn.execute(
            sa.select(sa.func.count()).where(stored_value_ledger.c.customer_id == customer)
        ).scalar_one()
    assert loads == 1


def test_a_batch_out_of_seq_order_is_refused_whole(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Shuffled")
    with Outbox(world, "pool.a") as till:
        first, second = (till.op(OpType.SALE, customer, sale(("cash", 100))) for _ in range(2))
        response = till.push(second, first)
        assert response.status_code == 422
        assert "seq order" in response.json()["detail"]
        assert till.last_seq() == first["seq"] - 1


# -- customer ops through push ------------------------------------------------------------------


def test_customer_create_then_update_and_a_stale_update_conflicts(world: World) -> None:
    customer = uuid4()
    with Outbox(world, "brand.a") as till:
        create = till.op(
            OpType.CUSTOMER_CREATE,
            customer,
            {
                "profile": {"first_name": "Nova", "mobile": "+14155550190"},
                "identifiers": [{"kind": "barcode", "value": "SYNC-NOVA-1"}],
            },
        )
        update = till.op(
            OpType.CUSTOMER_UPDATE, customer, {"changes": {"last_name": "Quinn"}}, base_version=1
        )
        stale = till.op(
            OpType.CUSTOMER_UPDATE, customer, {"changes": {"last_name": "Stale"}}, base_version=1
        )
        created, updated, conflict = till.apply(create, update, stale)
        assert created["status"] == "applied"
        assert created["result"]["customer_number"].startswith("C")
        assert updated["result"] == {"version": 2}
        assert conflict["status"] == "rejected"
        assert conflict["result"]["current"]["profile"]["last_name"] == "Quinn"
        assert conflict["result"]["current"]["version"] == 2

        seen = till.http.get(f"/customers/{customer}").json()
        assert seen["brand_id"] == "brand-a"
        assert seen["profile"]["last_name"] == "Quinn"
        assert seen["identifiers"] == [
            {"kind": "barcode", "value": "SYNC-NOVA-1", "status": "active"}
        ]
        [again] = till.apply(till.op(OpType.CUSTOMER_CREATE, customer, create["payload"]))
        assert again["status"] == "applied"
        assert again["result"]["version"] == 2
    with world.client("brand.b") as other:
        assert other.get(f"/customers/{customer}").status_code == 404
    with reading(world.crm.engine) as conn:
        actions = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.till_id).where(
                audit_log.c.customer_id == customer
            )
        ).all()
    assert {action for action, _ in actions} == {"customer_create", "customer_update"}
    assert {till_id for _, till_id in actions} == {till.till_id}


def test_customer_ops_refuse_bad_values_by_name(world: World) -> None:
    held = put_customer(world, "brand", "a", cards={IdentifierKind.BARCODE: "SYNC-HELD-1"})
    customer = put_customer(world, "brand", "a", first_name="Namer")
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(
                OpType.CUSTOMER_UPDATE,
                customer,
                {"changes": {"email": "not an email"}},
                base_version=1,
            ),
            till.op(
                OpType.CUSTOMER_UPDATE, customer, {"changes": {"shoe_size": 44}}, base_version=1
            ),
            till.op(OpType.IDENTIFIER_ADD, customer, {"kind": "barcode", "value": "SYNC-HELD-1"}),
            till.op(
                OpType.CUSTOMER_CREATE,
                uuid4(),
                {"profile": {}, "identifiers": [{"kind": "barcode", "value": "SYNC-HELD-1"}]},
            ),
            till.op(OpType.IDENTIFIER_BLOCK, customer, {"kind": "rfid", "value": "NOPE"}),
        )
    assert [r["status"] for r in results] == ["rejected"] * 5
    assert results[0]["reason"].startswith("invalid email:")
    assert results[1]["reason"] == "unknown profile field: shoe_size"
    assert results[2]["reason"] == "barcode SYNC-HELD-1 cannot be added to this customer"
    assert results[3]["reason"] == results[2]["reason"]
    assert results[4]["reason"] == "the customer has no rfid NOPE"
    assert held != customer


def test_a_connected_child_creates_at_the_parent_and_registers_at_the_child(
    world: World,
) -> None:
    customer = uuid4()
    with Outbox(world, "child1.a") as till:
        [created] = till.apply(
            till.op(OpType.CUSTOMER_CREATE, customer, {"profile": {"first_name": "Kid"}})
        )
    assert created["status"] == "applied"
    with reading(world.crm.engine) as conn:
        owner = conn.execute(
            sa.select(customers.c.org_id, customers.c.brand_id).where(customers.c.id == customer)
        ).one()
        registered = set(
            conn.execute(
                sa.select(customer_registrations.c.org_id).where(
                    customer_registrations.c.customer_id == customer
                )
            ).scalars()
        )
    assert tuple(owner) == (ORGS["parent"].id, None)
    assert registered == {ORGS["parent"].id, ORGS["child1"].id}
    with world.client("child1.a") as child1, world.client("child2.a") as child2:
        assert child1.get(f"/customers/{customer}").status_code == 200
        assert child2.get(f"/customers/{customer}").status_code == 404


def test_identifier_block_and_authorized_users(world: World) -> None:
    customer = put_customer(world, "brand", "a", cards={IdentifierKind.RFID: "SYNC-TAG-9"})
    user = str(uuid4())
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(OpType.IDENTIFIER_BLOCK, customer, {"kind": "rfid", "value": "SYNC-TAG-9"}),
            till.op(
                OpType.AUTHORIZED_USER_ADD,
                customer,
                {"user": {"id": user, "first_name": "Ada", "allow_invoicing": True}},
            ),
        )
        assert [r["status"] for r in results] == ["applied", "applied"]
        assert (
            till.http.get("/identify", params={"kind": "rfid", "value": "SYNC-TAG-9"}).json()[
                "code"
            ]
            == "blocked"
        )
        seen = till.http.get(f"/customers/{customer}").json()
        assert [u["first_name"] for u in seen["authorized_users"]] == ["Ada"]
        [removed, gone] = till.apply(
            till.op(OpType.AUTHORIZED_USER_REMOVE, customer, {"user_id": user}),
            till.op(OpType.AUTHORIZED_USER_REMOVE, customer, {"user_id": user}),
        )
        assert removed["status"] == "applied"
        assert gone["status"] == "rejected"
        assert till.http.get(f"/customers/{customer}").json()["authorized_users"] == []


# -- pull ---------------------------------------------------------------------------------------


def _pull_all(http: Any, cursor: str = "", limit: int = 1000) -> tuple[list[dict[str, Any]], str]:
    """Every page from `cursor`; returns the customers and the final cursor."""
    pulled: list[dict[str, Any]] = []
    while True:
        response = http.get("/sync/pull", params={"cursor": cursor, "limit": limit})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["customers"]) <= limit
        pulled.extend(page["customers"])
        assert int(page["cursor"]) >= int(cursor or 0)
        cursor = page["cursor"]
        if not page["more"]:
            return pulled, cursor


def test_first_pull_loads_the_whole_scope_in_pages(world: World) -> None:
    made = {put_customer(world, "units", "a", first_name=f"Unit{n}") for n in range(7)}
    with reading(world.crm.engine) as conn:
        in_scope = set(
            conn.execute(
                sa.select(customers.c.id).where(customers.c.org_id == ORGS["units"].id)
            ).scalars()
        )
    with world.client("units.b") as http:
        pulled, cursor = _pull_all(http, limit=3)
        ids = [UUID(c["id"]) for c in pulled]
        assert len(ids) == len(set(ids))
        assert set(ids) == in_scope >= made
        assert http.get("/sync/pull", params={"cursor": cursor}).json() == {
            "customers": [],
            "cursor": cursor,
            "more": False,
            "total": None,
        }
        assert http.get("/sync/pull", params={"limit": 3}).json()["total"] == len(in_scope)
        changed = sorted(made)[0]
        with Outbox(world, "units.a") as till:
            till.apply(till.op(OpType.SALE, changed, sale(("cash", 2000))))
        since, _ = _pull_all(http, cursor)
    assert [UUID(c["id"]) for c in since] == [changed]
    assert since[0]["balances"]["points"] == [{"brand_id": None, "balance": 20}]


def test_brand_a_never_pulls_brand_b_customers(world: World) -> None:
    mine = put_customer(world, "brand", "a", first_name="Mine")
    other = put_customer(world, "brand", "b", first_name="Other")
    with world.client("brand.a") as http:
        pulled, _ = _pull_all(http, limit=2)
    ids = {UUID(c["id"]) for c in pulled}
    assert mine in ids
    assert other not in ids
    assert {c["brand_id"] for c in pulled} == {"brand-a"}


def test_pull_refuses_a_cursor_that_is_not_the_crms(world: World) -> None:
    with world.client("brand.a") as http:
        response = http.get("/sync/pull", params={"cursor": "2026-01-01T00:00:00"})
        assert response.status_code == 422
        assert response.json()["problems"][0]["field"] == "cursor"
        assert http.get("/sync/pull", params={"limit": 5001}).status_code == 422


def test_a_pulled_customer_reads_exactly_as_get_shows_it(world: World) -> None:
    """Pull writes its JSON without validating stored profiles again; what it writes must
    still be the `CustomerOut` that GET answers, private custom fields merged in."""
    customer = put_customer(
        world,
        "parent",
        "a",
        cards={IdentifierKind.BARCODE: "PULL-SAME-1", IdentifierKind.RFID: "PULL-SAME-2"},
        first_name="Pia",
        last_name="Pullman",
        email="pia.pullman@example.com",
        mobile="+14155550777",
        date_of_birth="1984-02-29",
        address={"line1": "1 Sync Street", "city": "Oakland", "country": "US"},
        tags=["season"],
        flags={"vip": True},
        custom_fields={"color": "parent"},
    )
    with writing(world.crm.engine) as conn:
        conn.execute(
            customer_registrations.insert().values(
                customer_id=customer,
                org_id=ORGS["child1"].id,
                label="Box holder",
                status="gold",
                custom_fields={"seat": "7C", "color": "child"},
                registered_at=datetime.now(UTC),
            )
        )
    with Outbox(world, "child1.a") as till:
        user = {"id": str(uuid4()), "first_name": "Otto", "phone": "+14155550778"}
        till.apply(
            till.op(OpType.AUTHORIZED_USER_ADD, customer, {"user": user}),
            till.op(OpType.SALE, customer, sale(("cash", 1500))),
        )
    with world.client("child1.a") as http:
        page = http.get("/sync/pull", params={"limit": 5000}).json()
        got = CustomerOut.model_validate(http.get(f"/customers/{customer}").json())
    [pulled] = [c for c in PullResponse.model_validate(page).customers if c.id == customer]
    assert pulled.profile.custom_fields == {"seat": "7C", "color": "parent"}
    assert pulled.profile.date_of_birth == date(1984, 2, 29)
    assert [u.first_name for u in pulled.authorized_users] == ["Otto"]
    assert pulled.balances.points[0].balance > 0
    unstamped = {"balances": {"as_of"}}
    assert pulled.model_dump(exclude=unstamped) == got.model_dump(exclude=unstamped)


def test_each_pulled_customer_carries_only_their_own_cards_users_and_points(
    world: World,
) -> None:
    """A page is one statement whose cards, users and points are aggregated per customer by
    the database: neighbours on one page must not share them, and cards come in order."""
    first = put_customer(
        world,
        "brand",
        "a",
        cards={IdentifierKind.RFID: "OWN-R-1", IdentifierKind.BARCODE: "OWN-B-1"},
        first_name="First",
    )
    second = put_customer(
        world, "brand", "a", cards={IdentifierKind.MAGSTRIPE: "OWN-M-2"}, first_name="Second"
    )
    with Outbox(world, "brand.a") as till:
        user = {"id": str(uuid4()), "first_name": "Uma", "allow_invoicing": True}
        till.apply(
            till.op(OpType.AUTHORIZED_USER_ADD, first, {"user": user}),
            till.op(OpType.SALE, second, sale(("cash", 3000))),
        )
    with world.client("brand.a") as http:
        pulled, _ = _pull_all(http, limit=5000)
    by_id = {c.id: c for c in map(CustomerOut.model_validate, pulled)}
    one, two = by_id[first], by_id[second]
    assert [(i.kind.value, i.value) for i in one.identifiers] == [
        ("barcode", "OWN-B-1"),
        ("rfid", "OWN-R-1"),
    ]
    assert [(i.kind.value, i.value) for i in two.identifiers] == [("magstripe", "OWN-M-2")]
    assert [(u.first_name, u.allow_invoicing) for u in one.authorized_users] == [("Uma", True)]
    assert two.authorized_users == []
    assert [p.balance for p in one.balances.points] == [0]
    assert [p.balance for p in two.balances.points] == [30]


def test_the_database_writes_a_pulled_customer_as_the_api_model_reads_it(world: World) -> None:
    """The database writes each pulled customer's JSON text (Python only joins them): text
    that needs escaping, nulls, booleans, UUIDs, several cards and authorized users in order,
    and brand wallets in code point order ('W' before 'w', which a locale's collation puts
    the other way round) must read exactly as the CRM's own models have them."""
    awkward = 'Box "7" \\ é\t'
    owner = put_customer(
        world,
        "wallets",
        None,
        cards={IdentifierKind.RFID: 'R-"é"\\1', IdentifierKind.BARCODE: "B-1"},
        first_name="Zoë",
    )
    bare = put_customer(world, "wallets", None, first_name="Bare")
    users = [
        AuthorizedUser(id=uuid4(), first_name='Åsa "A"', last_name="Alpha", allow_invoicing=True),
        AuthorizedUser(
            id=uuid4(),
            first_name="Bo\\b",
            last_name="Beta",
            phone="+14155550199",
            allow_preorders=True,
        ),
    ]
    with writing(world.crm.engine) as conn:
        conn.execute(
            customer_registrations.update()
            .where(customer_registrations.c.customer_id == owner)
            .values(label=awkward, status="gold\n")
        )
        conn.execute(
            authorized_users.insert(),
            [{**user.model_dump(), "customer_id": owner} for user in reversed(users)],
        )
        conn.execute(
            points_accounts.insert(),
            [
                {"customer_id": owner, "account": account, "balance": balance}
                for account, balance in (
                    ("", 9),
                    ("wallets-b", 6),
                    ("wallets-a", 5),
                    ("Wallets-Z", 7),
                )
            ],
        )
        cards = conn.execute(
            sa.select(identifiers.c.kind, identifiers.c.value, identifiers.c.status)
            .where(identifiers.c.customer_id == owner)
            .order_by(identifiers.c.kind)
        ).mappings()
        expected_cards = [dict(card) for card in cards]
    put_card(world, owner, 1234, reset_after_event=False)
    for till, own, other in (
        ("wallets.a", "wallets-a", "wallets-b"),
        ("wallets.b", "wallets-b", "wallets-a"),
    ):
        with world.client(till) as http:
            pulled, _ = _pull_all(http)
        PullResponse.model_validate({"customers": pulled, "cursor": "1", "more": False})
        by_id = {UUID(c["id"]): c for c in pulled}
        got, empty = by_id[owner], by_id[bare]
        assert got["id"] == str(owner)
        assert (got["org_id"], got["brand_id"]) == ("org-wallets", None)
        assert got["profile"]["first_name"] == "Zoë"
        assert got["identifiers"] == expected_cards
        assert [c["value"] for c in got["identifiers"]] == ["B-1", 'R-"é"\\1']
        written = [user.model_dump(mode="json") for user in users]  # true, not 1
        assert json.dumps(got["authorized_users"]) == json.dumps(written)
        assert got["balances"]["points"] == [
            {"brand_id": own, "balance": {"wallets-a": 5, "wallets-b": 6}[own]},
            {"brand_id": "Wallets-Z", "balance": 7},
            {"brand_id": other, "balance": {"wallets-a": 5, "wallets-b": 6}[other]},
        ]
        assert (got["balances"]["stored_value"], got["balances"]["store_credit_owed"]) == (1234, 0)
        assert (got["label"], got["status"]) == (awkward, "gold\n")
        assert got["version"] == 1
        assert datetime.fromisoformat(got["created_at"]).utcoffset() == timedelta(0)
        assert (empty["identifiers"], empty["authorized_users"]) == ([], [])
        assert empty["balances"]["points"] == [{"brand_id": own, "balance": 0}]
        assert empty["balances"]["stored_value"] is None


def test_a_child_pulls_its_own_and_its_registered_parent_customers_in_change_order(
    world: World,
) -> None:
    """A connected child's scope is its own customers and its parent's registered at it; the
    pull takes each part from its own change index and merges them: pages small enough to
    split the parts must still give every customer in scope once, in change order."""
    made: dict[str, UUID] = {}
    for name, org in (("p1", "parent"), ("c1", "child1"), ("p2", "parent"), ("c2", "child1")):
        made[name] = put_customer(world, org, "a", first_name=name)
    made["p3"] = put_customer(world, "parent", "a", first_name="p3")
    made["x"] = put_customer(world, "child2", "a", first_name="x")
    with writing(world.crm.engine) as conn:
        for name in ("p1", "p3"):
            conn.execute(
                customer_registrations.insert().values(
                    customer_id=made[name],
                    org_id=ORGS["child1"].id,
                    custom_fields={},
                    registered_at=datetime.now(UTC),
                )
            )
    with world.client("child1.a") as http:
        pulled, _ = _pull_all(http, limit=2)
    ids = [UUID(c["id"]) for c in pulled]
    scope = TillScope.of(ORGS["child1"], "child1-a")
    with reading(world.crm.engine) as conn:
        in_scope = conn.execute(
            sa.select(customers.c.id).where(visible_in(scope)).order_by(customers.c.change_seq)
        ).scalars()
        assert ids == list(in_scope)
    assert {made[n] for n in ("p1", "c1", "c2", "p3")} <= set(ids)
    assert not {made["p2"], made["x"]} & set(ids)


def test_a_change_committed_after_a_later_numbered_one_is_not_skipped(world: World) -> None:
    """A push still inside its transaction while another commits must not get a change
    number below the one a till has already pulled past: pull would skip its change."""
    if world.crm.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no push can overtake another")
    slow, held, fast = (put_customer(world, "pool", None, first_name=n) for n in "SHF")
    with world.client("pool.b") as http:
        _, cursor = _pull_all(http)
        with Outbox(world, "pool.a") as first, Outbox(world, "pool.b") as second:
            batch = [first.op(OpType.SALE, who, sale(("cash", 100))) for who in (slow, held)]
            pushed: list[httpx.Response] = []
            pusher = threading.Thread(target=lambda: pushed.append(first.push(*batch)))
            with _customer_locked(world, held) as wait_for:
                pusher.start()
                wait_for(1)  # the first push has changed `slow` and waits for `held`
                [overtaking] = second.apply(second.op(OpType.SALE, fast, sale(("cash", 100))))
                assert overtaking["status"] == "applied"
                before, cursor = _pull_all(http, cursor)
            pusher.join()
        assert pushed[0].status_code == 200, pushed[0].text
        after, _ = _pull_all(http, cursor)
    assert [UUID(c["id"]) for c in before] == [fast]
    assert {UUID(c["id"]) for c in after} == {slow, held}


def test_pushes_beyond_the_process_slots_wait_outside_the_database(world: World) -> None:
    """A CRM process applies `PUSH_SLOTS` pushes at once: with both slots held by pushes
    queued on a customer's lock, a third till's push (its customer unlocked) waits for a slot
    instead of applying, and applies once the slots free up."""
    if world.crm.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: the slots are never all held")
    assert PUSH_SLOTS == 2  # the two held pushes below fill them
    held = put_customer(world, "pool", None, first_name="Held")
    free = put_customer(world, "wallets", None, first_name="Free")
    pushed: dict[str, httpx.Response] = {}
    with (
        Outbox(world, "pool.a") as first,
        Outbox(world, "pool.b") as second,
        Outbox(world, "wallets.a") as third,
    ):

        def push(name: str, till: Outbox, customer: UUID) -> threading.Thread:
            op = till.op(OpType.SALE, customer, sale(("cash", 100)))
            thread = threading.Thread(target=lambda: pushed.update({name: till.push(op)}))
            thread.start()
            return thread

        with _customer_locked(world, held) as wait_for:
            threads = [push("first", first, held), push("second", second, held)]
            wait_for(2)  # both slots are inside the database, queued on the lock
            threads.append(push("third", third, free))
            time.sleep(1)  # time enough for the third to apply, if it did not wait
            assert "third" not in pushed
            assert _points_rows(world, free) == 0
        for thread in threads:
            thread.join()
    assert {name: r.status_code for name, r in pushed.items()} == dict.fromkeys(pushed, 200)
    assert len(pushed) == 3
    assert _points_rows(world, held) == 2
    assert _points_rows(world, free) == 1


def test_answers_held_for_the_commit_read_back_as_they_were_written(world: World) -> None:
    """The rows an all-or-nothing push holds back go in at its COMMIT with one statement (COPY
    on PostgreSQL): awkward text, a missing seq and nested JSON come back unchanged."""
    rows = [
        {
            "op_id": uuid4(),
            "till_id": "held-answers",
            "seq": seq,
            "type": "sale",
            "payload_hash": "0" * 64,
            "status": "rejected",
            "reason": reason,
            "result": result,
        }
        for seq, reason, result in (
            (None, "tab\there, new\nline, back\\slash, \\N, «quotes» 'and' \"these\"", {}),
            (10**12, "", {"lines": [{"x": [1, None, "\\t"]}], "é": None}),
        )
    ]
    with writing(world.crm.engine, all_or_nothing=True) as conn:
        for row in rows:
            insert_later(conn, applied_ops.insert(), {**row, "applied_at": datetime.now(UTC)})
    with reading(world.crm.engine) as conn:
        stored = conn.execute(
            sa.select(applied_ops).where(applied_ops.c.op_id.in_([row["op_id"] for row in rows]))
        ).mappings()
        by_id = {row["op_id"]: {**row} for row in stored}
    for row in by_id.values():
        del row["applied_at"]  # SQLite gives it back without its time zone
    assert [by_id[row["op_id"]] for row in rows] == rows
