"""Limits on the CRM: a breach refuses the op unless a supervisor's override covers exactly it,
and every override lands in the audit log with both operator ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, override, put_card, sale
from tests.support.world import World
from tillcrm.api import OpType
from tillcrm.domain import EventPeriod, PromotionCategory
from tillcrm.server import admin
from tillcrm.server.db import reading, writing
from tillcrm.server.tables import (
    audit_log,
    customers,
    stored_value_cards,
    stored_value_ledger,
)


def _overrides(world: World, customer: UUID) -> list[dict[str, Any]]:
    with reading(world.crm.engine) as conn:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.customer_id == customer, audit_log.c.action.like("override:%"))
            .order_by(audit_log.c.id)
        ).all()
    return [row._asdict() for row in rows]


def _refused_then_overridden(
    world: World, customer: UUID, payload: dict[str, Any], limit: str, reason: str
) -> dict[str, Any]:
    """Push the sale without an override (refused with `reason`), then again with one."""
    amount = sum(t["amount"] for t in payload["tenders"] if t["kind"] != "cash")
    with Outbox(world, "brand.a") as till:
        [refused] = till.apply(till.op(OpType.SALE, customer, payload))
        again = {**payload, "transaction_id": str(uuid4())}
        approval = override("brand", customer, amount, [limit], verification=till.verify())
        [approved] = till.apply(till.op(OpType.SALE, customer, again, override=approval))
    assert refused["status"] == "rejected"
    assert refused["reason"] == f"{reason}: a supervisor override is needed"
    assert approved["status"] == "applied", approved["reason"]
    [entry] = _overrides(world, customer)
    assert entry["operator_id"] == "brand-cashier"
    assert entry["approver_id"] == "brand-super"
    assert entry["action"] == "override:sale"
    assert entry["op_id"] is not None
    assert entry["till_id"] == till.till_id
    assert "regular, known to the manager" in entry["detail"]
    assert reason in entry["detail"]
    return approved


def test_the_transaction_limit_covers_all_account_tenders_of_a_sale(world: World) -> None:
    customer = put_customer(world, "brand", "a", transaction_limit=1000, store_credit_limit=5000)
    put_card(world, customer, 5000)
    payload = sale(("stored_value", 700), ("store_credit", 500), ("cash", 2000))
    approved = _refused_then_overridden(
        world, customer, payload, "transaction", "transaction limit 1000 exceeded by 200"
    )
    assert approved["result"]["stored_value"] == 4300
    assert approved["result"]["store_credit_owed"] == 500


def test_the_credit_limit_refuses_without_an_override(world: World) -> None:
    customer = put_customer(world, "brand", "a", store_credit_limit=2000)
    approved = _refused_then_overridden(
        world, customer, sale(("store_credit", 2500)), "credit", "credit limit 2000 exceeded by 500"
    )
    assert approved["result"]["store_credit_owed"] == 2500


def test_the_category_credit_limit_applies_when_the_customer_has_none(world: World) -> None:
    with writing(world.crm.engine) as conn:
        admin.add_promotion_category(
            conn,
            "org-brand",
            PromotionCategory(id="brand-house", name="House", credit_limit=1000),
        )
    customer = put_customer(world, "brand", "a", promotion_category_id="brand-house")
    with Outbox(world, "brand.a") as till:
        [ok, over] = till.apply(
            till.op(OpType.SALE, customer, sale(("store_credit", 800))),
            till.op(OpType.SALE, customer, sale(("store_credit", 300))),
        )
    assert ok["status"] == "applied"
    assert over["reason"] == "credit limit 1000 exceeded by 100: a supervisor override is needed"


def test_the_per_event_limit_counts_this_events_spending(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    put_card(world, customer, 10_000, per_event_limit=1000)
    with Outbox(world, "brand.a") as till:
        [first] = till.apply(
            till.op(OpType.SALE, customer, sale(("stored_value", 600), event_id="brand-event"))
        )
    assert first["status"] == "applied"
    _refused_then_overridden(
        world,
        customer,
        sale(("stored_value", 600), event_id="brand-event"),
        "per_event",
        "per_event limit 1000 exceeded by 200",
    )


def test_a_sale_that_names_no_event_counts_in_the_event_running_now(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    put_card(world, customer, 10_000, per_event_limit=1000)
    with Outbox(world, "brand.a") as till:
        [first, second] = till.apply(
            till.op(OpType.SALE, customer, sale(("stored_value", 600))),
            till.op(OpType.SALE, customer, sale(("stored_value", 600))),
        )
        balance = till.http.get(f"/customers/{customer}/stored-value").json()
    assert first["status"] == "applied"
    assert second["status"] == "rejected"
    assert second["reason"] == (
        "per_event limit 1000 exceeded by 200: a supervisor override is needed"
    )
    with reading(world.crm.engine) as conn:
        events = conn.execute(
            sa.select(stored_value_ledger.c.event_id).where(
                stored_value_ledger.c.customer_id == customer
            )
        ).scalars()
        assert list(events) == ["brand-event"]
    assert balance["event_used"] == 600


def test_without_reset_spending_at_earlier_events_counts_too(world: World) -> None:
    past = EventPeriod(
        id="brand-event-past",
        name="Last week's game",
        starts_at=datetime.now(UTC) - timedelta(days=7, hours=3),
        ends_at=datetime.now(UTC) - timedelta(days=7),
        season_id="brand-season",
    )
    with writing(world.crm.engine) as conn:
        admin.add_event(conn, "org-brand", past)
    carried = put_customer(world, "brand", "a")
    fresh = put_customer(world, "brand", "a")
    put_card(world, carried, 10_000, per_event_limit=1000, reset_after_event=False)
    put_card(world, fresh, 10_000, per_event_limit=1000, reset_after_event=True)
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            *(
                till.op(OpType.SALE, who, sale(("stored_value", 800), event_id=event))
                for who in (carried, fresh)
                for event in (past.id, "brand-event")
            )
        )
    assert [r["status"] for r in results] == ["applied", "rejected", "applied", "applied"]
    assert results[1]["reason"].startswith("per_event limit 1000 exceeded by 600")


def test_the_per_season_limit_counts_the_seasons_spending(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    put_card(world, customer, 10_000, per_season_limit=1000)
    with Outbox(world, "brand.a") as till:
        [first] = till.apply(till.op(OpType.SALE, customer, sale(("stored_value", 700))))
    assert first["status"] == "applied"
    _refused_then_overridden(
        world,
        customer,
        sale(("stored_value", 700), event_id="brand-event"),
        "per_season",
        "per_season limit 1000 exceeded by 400",
    )


def test_a_cashier_cannot_approve_their_own_action(world: World) -> None:
    customer = put_customer(world, "brand", "a", store_credit_limit=100)
    payload = sale(("store_credit", 500))
    own = override("brand", customer, 500, ["credit"], supervisor="cashier")
    supervisors_own = override("brand", customer, 500, ["credit"], cashier="super")
    by_a_cashier = override(
        "brand", customer, 500, ["credit"], supervisor="cashier", cashier="super"
    )
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(OpType.SALE, customer, payload, override=own),
            *(
                till.op(
                    OpType.SALE,
                    customer,
                    {**payload, "transaction_id": str(uuid4())},
                    operator="super",
                    override=approval,
                )
                for approval in (supervisors_own, by_a_cashier)
            ),
        )
    assert [r["reason"] for r in results] == [
        "override refused: a cashier cannot approve their own action",
        "override refused: a cashier cannot approve their own action",
        "override refused: only a supervisor or manager can approve",
    ]
    assert _overrides(world, customer) == []


def test_an_override_is_bound_to_its_customer_amount_and_limits(world: World) -> None:
    customer = put_customer(world, "brand", "a", store_credit_limit=100)
    someone_else = put_customer(world, "brand", "a")
    payload = sale(("store_credit", 500))
    wrong = [
        override("brand", customer, 499, ["credit"]),
        override("brand", someone_else, 500, ["credit"]),
        override("brand", customer, 500, ["per_event"]),
        override("brand", customer, 500, ["credit"], kind="points_redeem"),
    ]
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            *(
                till.op(
                    OpType.SALE,
                    customer,
                    {**payload, "transaction_id": str(uuid4())},
                    override=approval,
                )
                for approval in wrong
            )
        )
    assert {r["reason"] for r in results} == {
        "credit limit 100 exceeded by 400: the override is for another customer, amount or limit"
    }
    with reading(world.crm.engine) as conn:
        owed = conn.execute(
            sa.select(customers.c.store_credit_owed).where(customers.c.id == customer)
        ).scalar_one()
    assert owed == 0


def test_an_inactive_customer_needs_an_override_to_charge_an_account(world: World) -> None:
    customer = put_customer(world, "brand", "a", flags={"active": False})
    put_card(world, customer, 5000)
    approved = _refused_then_overridden(
        world, customer, sale(("stored_value", 300)), "inactive", "inactive limit 0 exceeded by 300"
    )
    assert approved["result"]["stored_value"] == 4700


def test_only_an_authorized_user_allowed_to_invoice_charges_the_house_account(
    world: World,
) -> None:
    customer = put_customer(world, "brand", "a", store_credit_limit=10_000)
    invoicer, orderer = str(uuid4()), str(uuid4())
    with Outbox(world, "brand.a") as till:
        results = till.apply(
            till.op(
                OpType.AUTHORIZED_USER_ADD,
                customer,
                {"user": {"id": invoicer, "first_name": "Ivy", "allow_invoicing": True}},
            ),
            till.op(
                OpType.AUTHORIZED_USER_ADD,
                customer,
                {"user": {"id": orderer, "first_name": "Otto", "allow_preorders": True}},
            ),
            till.op(
                OpType.SALE, customer, sale(("store_credit", 400), authorized_user_id=invoicer)
            ),
            till.op(OpType.SALE, customer, sale(("store_credit", 400), authorized_user_id=orderer)),
        )
    assert [r["status"] for r in results] == ["applied", "applied", "applied", "rejected"]
    assert results[2]["result"]["store_credit_owed"] == 400
    assert results[3]["reason"] == f"authorized user {orderer} may not charge the house account"


def test_an_online_overdraft_is_refused(world: World) -> None:
    customer = put_customer(world, "brand", "a")
    put_card(world, customer, 500)
    with Outbox(world, "brand.a") as till:
        [refused] = till.apply(till.op(OpType.SALE, customer, sale(("stored_value", 800))))
    assert refused["status"] == "rejected"
    assert refused["reason"].startswith("balance limit 500 exceeded by 300")
    with reading(world.crm.engine) as conn:
        balance = conn.execute(
            sa.select(stored_value_cards.c.balance).where(
                stored_value_cards.c.customer_id == customer
            )
        ).scalar_one()
    assert balance == 500
