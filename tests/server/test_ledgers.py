"""Ledgers and balances through push: points under each points policy, stored value, store credit,
offline overdrafts, and visits."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, put_card, sale
from tests.support.world import World
from tillcrm.api import OpType
from tillcrm.server.db import reading
from tillcrm.server.tables import (
    points_accounts,
    points_ledger,
    store_credit_ledger,
    stored_value_cards,
    stored_value_ledger,
    transactions,
    visits,
)


def _accounts(world: World, customer: UUID) -> dict[str, int]:
    with reading(world.crm.engine) as conn:
        rows = conn.execute(
            sa.select(points_accounts.c.account, points_accounts.c.balance).where(
                points_accounts.c.customer_id == customer
            )
        ).all()
    return {account: int(balance) for account, balance in rows}


def _card_balance(world: World, customer: UUID) -> int:
    with reading(world.crm.engine) as conn:
        return int(
            conn.execute(
                sa.select(stored_value_cards.c.balance).where(
                    stored_value_cards.c.customer_id == customer
                )
            ).scalar_one()
        )


def test_shared_pool_keeps_one_balance_across_brands(world: World) -> None:
    customer = put_customer(world, "pool", None, first_name="Pooled")
    with Outbox(world, "pool.a") as a, Outbox(world, "pool.b") as b:
        [at_a] = a.apply(a.op(OpType.SALE, customer, sale(("cash", 1200))))
        [at_b] = b.apply(b.op(OpType.SALE, customer, sale(("cash", 800))))
        seen_at_a = a.http.get(f"/customers/{customer}").json()["balances"]["points"]
    assert _accounts(world, customer) == {"": 20}
    assert (at_a["result"]["points_balance"], at_b["result"]["points_balance"]) == (12, 20)
    assert at_b["result"]["points_account"] == ""
    assert seen_at_a == [{"brand_id": None, "balance": 20}]


def test_brand_wallets_keep_one_balance_per_brand(world: World) -> None:
    customer = put_customer(world, "wallets", None, first_name="Walleted")
    with Outbox(world, "wallets.a") as a, Outbox(world, "wallets.b") as b:
        [at_a] = a.apply(a.op(OpType.SALE, customer, sale(("cash", 1200))))
        [at_b] = b.apply(b.op(OpType.SALE, customer, sale(("cash", 800))))
    assert _accounts(world, customer) == {"wallets-a": 12, "wallets-b": 8}
    assert (at_a["result"]["points_balance"], at_b["result"]["points_balance"]) == (12, 8)
    assert at_b["result"]["points_account"] == "wallets-b"


def test_a_sale_earns_under_the_promotion_category_and_spends_points(world: World) -> None:
    customer = put_customer(world, "pool", None, promotion_category_id="pool-gold")
    with Outbox(world, "pool.a") as till:
        [earn] = till.apply(till.op(OpType.SALE, customer, sale(("cash", 2500))))
        [spend] = till.apply(till.op(OpType.SALE, customer, sale(("points", 40), ("cash", 1000))))
    assert earn["result"]["points_earned"] == 50  # gold: 2 points per whole unit
    assert (spend["result"]["points_earned"], spend["result"]["points_redeemed"]) == (20, 40)
    assert spend["result"]["points_balance"] == 30
    with reading(world.crm.engine) as conn:
        row = conn.execute(
            sa.select(transactions).where(
                transactions.c.id == UUID(spend["result"]["transaction_id"])
            )
        ).one()
        deltas = conn.execute(
            sa.select(points_ledger.c.delta)
            .where(points_ledger.c.customer_id == customer)
            .order_by(points_ledger.c.at)
        ).scalars()
        assert list(deltas) == [50, -20]
    assert (row.total, row.points_earned, row.points_redeemed) == (1040, 20, 40)
    assert row.number == spend["result"]["number"]


def test_a_points_tender_must_say_how_many_points_pay_it(world: World) -> None:
    customer = put_customer(world, "pool", None)
    payload = sale(("points", 40))
    del payload["tenders"][0]["points"]
    with Outbox(world, "pool.a") as till:
        [refused] = till.apply(till.op(OpType.SALE, customer, payload))
    assert refused["status"] == "rejected"
    assert refused["reason"].startswith("a points tender of 40 must give the points")


def test_tenders_must_add_up_to_the_lines(world: World) -> None:
    customer = put_customer(world, "pool", None)
    payload = sale(("cash", 500))
    payload["tenders"][0]["amount"] = 400
    with Outbox(world, "pool.a") as till:
        [refused] = till.apply(till.op(OpType.SALE, customer, payload))
    assert refused["reason"] == "the tenders add up to 400, the lines to 500"


def test_a_transaction_recorded_once_is_refused_under_another_op(world: World) -> None:
    customer = put_customer(world, "pool", None)
    payload = sale(("cash", 500))
    with Outbox(world, "pool.a") as till:
        first, again, next_one = till.apply(
            till.op(OpType.SALE, customer, payload),
            till.op(OpType.SALE, customer, payload),
            till.op(OpType.SALE, customer, sale(("cash", 300))),
        )
    assert [first["status"], again["status"], next_one["status"]] == [
        "applied",
        "rejected",
        "applied",
    ]
    assert again["reason"] == f"transaction {payload['transaction_id']} is already recorded"
    assert _accounts(world, customer) == {"": 8}
    with reading(world.crm.engine) as conn:
        receipts = conn.execute(
            sa.select(sa.func.count()).where(transactions.c.customer_id == customer)
        ).scalar_one()
    assert receipts == 2


def test_an_offline_overdraft_applies_and_needs_review(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    put_card(world, customer, 500)
    with Outbox(world, "brand.a") as till:
        [result] = till.apply(
            till.op(OpType.SALE, customer, sale(("stored_value", 800)), offline=True)
        )
        seen = till.http.get(f"/customers/{customer}").json()["balances"]
    assert result["status"] == "needs_review"
    assert result["reason"] == "offline overdraft: balance limit 500 exceeded by 300"
    assert result["result"]["stored_value"] == -300
    assert _card_balance(world, customer) == -300
    assert seen["stored_value"] == -300


def test_points_redeem_refuses_an_overdraft_online_and_flags_it_offline(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(OpType.SALE, customer, sale(("cash", 3000))),
            till.op(OpType.POINTS_REDEEM, customer, {"points": 20, "reason": "free coffee"}),
            till.op(OpType.POINTS_REDEEM, customer, {"points": 20, "reason": "free coffee"}),
            till.op(
                OpType.POINTS_REDEEM,
                customer,
                {"points": 20, "reason": "free coffee"},
                offline=True,
            ),
        )
    assert [r["status"] for r in results] == ["applied", "applied", "rejected", "needs_review"]
    assert results[2]["reason"].startswith("balance limit 10 exceeded by 10")
    assert results[3]["result"]["points_balance"] == -10
    assert _accounts(world, customer) == {"brand-a": -10}


def test_stored_value_loads_are_online_only_and_need_a_card(world: World) -> None:
    carded = put_customer(world, "brand", "a")
    cardless = put_customer(world, "brand", "a")
    put_card(world, carded, 100)
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(OpType.STORED_VALUE_LOAD, carded, {"amount": 2500}),
            till.op(OpType.STORED_VALUE_LOAD, carded, {"amount": 2500}, offline=True),
            till.op(OpType.STORED_VALUE_LOAD, cardless, {"amount": 2500}),
        )
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected"]
    assert results[0]["result"]["stored_value"] == 2600
    assert results[1]["reason"] == "stored-value loads are online only"
    assert results[2]["reason"] == "the customer has no stored-value card"
    with reading(world.crm.engine) as conn:
        ledger = conn.execute(
            sa.select(stored_value_ledger.c.op_id, stored_value_ledger.c.delta).where(
                stored_value_ledger.c.customer_id == carded
            )
        ).all()
    assert [(str(op_id), delta) for op_id, delta in ledger] == [(results[0]["op_id"], 2500)]


def test_store_credit_payment_pays_down_at_most_what_is_owed(world: World) -> None:
    customer = put_customer(world, "brand", "a", store_credit_limit=5000)
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(OpType.SALE, customer, sale(("store_credit", 1800))),
            till.op(OpType.STORE_CREDIT_PAYMENT, customer, {"amount": 1000}),
            till.op(OpType.STORE_CREDIT_PAYMENT, customer, {"amount": 1000}),
        )
    assert [r["status"] for r in results] == ["applied", "applied", "rejected"]
    assert results[1]["result"]["store_credit_owed"] == 800
    assert results[2]["reason"] == "payment 1000 is more than the 800 owed"
    with reading(world.crm.engine) as conn:
        deltas = conn.execute(
            sa.select(store_credit_ledger.c.delta)
            .where(store_credit_ledger.c.customer_id == customer)
            .order_by(store_credit_ledger.c.at)
        ).scalars()
        assert list(deltas) == [1800, -1000]


def test_each_op_of_a_batch_reads_the_customer_as_the_ops_before_it_left_them(
    world: World,
) -> None:
    """No op of this batch is refused, so it applies in its all-or-nothing try, where the
    customer's row is read once and kept from op to op: each op must still see the balance
    the one before it left (a payment of more than is owed would be refused)."""
    customer = put_customer(world, "brand", "a", store_credit_limit=5000)
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(OpType.SALE, customer, sale(("store_credit", 1800))),
            till.op(OpType.STORE_CREDIT_PAYMENT, customer, {"amount": 1000}),
            till.op(OpType.SALE, customer, sale(("store_credit", 4200))),
            till.op(OpType.STORE_CREDIT_PAYMENT, customer, {"amount": 5000}),
        )
    assert [r["status"] for r in results] == ["applied"] * 4
    assert [r["result"]["store_credit_owed"] for r in results] == [1800, 800, 5000, 0]


def test_a_visit_records_till_store_operator_and_method(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    with Outbox(world, "brand.a") as till:
        [result] = till.apply(till.op(OpType.VISIT, customer, {"method": "rfid"}))
    assert result["status"] == "applied"
    with reading(world.crm.engine) as conn:
        visit = conn.execute(sa.select(visits).where(visits.c.customer_id == customer)).one()
    assert str(visit.op_id) == result["op_id"]
    assert (visit.till_id, visit.store_id) == (till.till_id, "brand-a-store")
    assert (visit.operator_id, visit.method) == ("brand-cashier", "rfid")
