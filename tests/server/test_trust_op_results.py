"""Op answers are per till: a till replaying another till's op id (a cloned outbox, a sniffed
request) is refused with nothing of the first answer, and the op is not applied again."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, put_card, sale
from tests.support.world import World
from tillcrm.api import OpType
from tillcrm.server.db import reading
from tillcrm.server.tables import points_ledger, stored_value_ledger


def _rows(world: World, ledger: sa.Table, customer: UUID) -> int:
    with reading(world.crm.engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(ledger.c.customer_id == customer)
            ).scalar_one()
        )


def test_another_tills_op_id_is_refused_with_nothing_of_its_answer(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Cloned")
    with Outbox(world, "pool.a") as first, Outbox(world, "pool.b") as other:
        op = first.op(OpType.SALE, customer, sale(("cash", 1500)))
        [applied] = first.apply(op)
        assert applied["result"]["points_earned"] == 15
        other.seq += 1
        replay: dict[str, Any] = {**op, "seq": other.seq}
        [refused] = other.apply(replay)
        assert refused["status"] == "rejected"
        assert refused["result"] == {}
        assert "different payload" in refused["reason"]  # as any reused op id: no oracle
        assert first.till_id not in refused["reason"]
        assert other.last_seq() == other.seq  # refused, so the queue behind it moves on
        [again] = first.apply(op)
    assert again["status"] == "duplicate"
    assert again["result"] == applied["result"]
    assert _rows(world, points_ledger, customer) == 1


def test_another_tills_idempotency_key_is_refused_and_applies_nothing(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Sniffed")
    put_card(world, customer, 1_000)
    url = f"/customers/{customer}/stored-value/load"
    headers = {"X-Operator-Id": "pool-cashier", "Idempotency-Key": str(uuid4())}
    with world.client("pool.a") as first, world.client("pool.b") as other:
        loaded = first.post(url, json={"amount": 2_500}, headers=headers)
        replayed = other.post(url, json={"amount": 2_500}, headers=headers)
        retried = first.post(url, json={"amount": 2_500}, headers=headers)
    assert loaded.status_code == retried.status_code == 200, loaded.text
    assert retried.json()["balance"] == 3_500
    assert replayed.status_code == 422
    assert set(replayed.json()) == {"detail", "code", "problems"}
    assert replayed.json()["code"] == "op_id_reused"
    assert _rows(world, stored_value_ledger, customer) == 1
