"""Limits and supervisor overrides through the facade: a sale over the customer's transaction
limit needs an override naming the limit and its excess; the approval is bound to that one
action, travels on its op and lands in the CRM's audit log with both operator ids."""

from __future__ import annotations

import re
from uuid import UUID

import pytest
import sqlalchemy as sa

from tests.support.customers import put_customer
from tests.support.outbox import Outbox as CrmOutbox
from tests.support.outbox import approval_needs_review, sale
from tests.support.till import Till
from tests.support.world import (
    CASHIER_PIN,
    SUPERVISOR_BADGE,
    SUPERVISOR_PIN,
    World,
    add_operator,
)
from tillcrm.api import OpStatus, OpType, SaleLineTender
from tillcrm.crm import CrmClient
from tillcrm.domain import LimitKind, OverrideRefusal, Role, TenderKind, TransactionLine
from tillcrm.local import AuditLog, OpState, Outbox
from tillcrm.server.tables import audit_log
from tillcrm.till import Declined, OverrideRefused, OverrideRequired, Saved, TillService

LINES = [TransactionLine(description="Dinner for two", unit_price=1_500)]
ON_ACCOUNT = [SaleLineTender(kind=TenderKind.STORE_CREDIT, amount=1_500)]


async def _cashier_and_customer(till: Till, world: World) -> tuple[TillService, UUID]:
    customer_id = put_customer(
        world, "brand", first_name="Hal", transaction_limit=1_000, store_credit_limit=100_000
    )
    await till.sync()
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    return service, customer_id


async def test_a_sale_over_the_transaction_limit_needs_an_override(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)

    answer = await service.sale(customer_id, LINES, ON_ACCOUNT)

    assert isinstance(answer, OverrideRequired)
    assert [(b.kind, b.limit, b.excess) for b in answer.breaches] == [
        (LimitKind.TRANSACTION, 1_000, 500)
    ]
    assert answer.lines() == ["transaction limit 1000 exceeded by 500"]
    assert (answer.action.customer_id, answer.action.kind, answer.action.amount) == (
        customer_id,
        "sale",
        1_500,
    )
    assert answer.cashier_id == "brand-cashier"
    assert Outbox(till.db).depth() == 0


async def test_the_supervisors_approval_travels_with_the_op_to_the_crm_audit_log(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    required = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)

    approval = await service.approve(
        required, reason="regular, pays monthly", badge=SUPERVISOR_BADGE
    )
    saved = await service.sale(customer_id, LINES, ON_ACCOUNT, override=approval)

    assert isinstance(saved, Saved)
    assert saved.message == "saved"
    assert saved.op.override == approval
    assert approval.verification_id is not None  # the CRM checked the badge itself
    assert (approval.supervisor_id, approval.cashier_id) == ("brand-super", "brand-cashier")
    local = AuditLog(till.db).recent(customer_id=customer_id)
    assert [(r.action, r.operator_id, r.approver_id) for r in local] == [
        ("override:sale", "brand-cashier", "brand-super")
    ]
    await till.sync()
    assert Outbox(till.db).count(OpState.ACKED) == 1
    with loopback_world.crm.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.operator_id, audit_log.c.approver_id).where(
                audit_log.c.op_id == saved.op.op_id
            )
        ).all()
    assert ("override:sale", "brand-cashier", "brand-super") in [tuple(r) for r in rows]
    owed = await service.balance(customer_id, "store_credit")
    assert not isinstance(owed, Declined)
    assert getattr(owed, "balance", None) == 1_500


async def test_a_cashier_cannot_approve_their_own_action(till: Till, loopback_world: World) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    required = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)

    with pytest.raises(OverrideRefused, match=OverrideRefusal.SELF_APPROVAL.value):
        await service.approve(required, reason="I know him", code="brand-100", pin=CASHIER_PIN)
    with pytest.raises(OverrideRefused, match="wrong PIN"):
        await service.approve(required, reason="ok", code="brand-900", pin="0000")
    with pytest.raises(OverrideRefused, match="reason"):
        await service.approve(required, reason=" ", code="brand-900", pin=SUPERVISOR_PIN)


async def test_an_approval_is_worthless_for_another_amount(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    required = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)
    approval = await service.approve(required, reason="ok", code="brand-900", pin=SUPERVISOR_PIN)

    bigger = [TransactionLine(description="Dinner for three", unit_price=2_000)]
    tenders = [SaleLineTender(kind=TenderKind.STORE_CREDIT, amount=2_000)]
    answer = await service.sale(customer_id, bigger, tenders, override=approval)

    assert isinstance(answer, Declined)
    assert Outbox(till.db).depth() == 0


async def test_the_approver_is_checked_against_the_acting_operator(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    for_cashier = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(for_cashier, OverrideRequired)
    approval = await service.approve(for_cashier, reason="ok", badge=SUPERVISOR_BADGE)

    # The supervisor takes over the till: their own action needs someone else's approval,
    # and the cashier's approval does not carry over to them.
    await service.login_badge(SUPERVISOR_BADGE)
    own = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(own, OverrideRequired)
    assert own.cashier_id == "brand-super"
    with pytest.raises(OverrideRefused, match=OverrideRefusal.SELF_APPROVAL.value):
        await service.approve(own, reason="mine", badge=SUPERVISOR_BADGE)
    assert isinstance(
        await service.sale(customer_id, LINES, ON_ACCOUNT, override=approval), Declined
    )
    assert Outbox(till.db).depth() == 0


async def test_a_sale_the_crm_would_refuse_outright_is_declined_before_saving(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    short = [SaleLineTender(kind=TenderKind.CASH, amount=1_000)]
    points = [SaleLineTender(kind=TenderKind.POINTS, amount=1_500, points=15)]

    unbalanced = await service.sale(customer_id, LINES, short)
    wrong_points = await service.sale(customer_id, LINES, points)
    nothing = await service.redeem_points(customer_id, 0, "free")

    assert isinstance(unbalanced, Declined)
    assert unbalanced.reason == "the tenders add up to 1000, the lines to 1500"
    assert isinstance(wrong_points, Declined)
    assert "needs 1500 points" in wrong_points.reason
    assert isinstance(nothing, Declined)
    assert nothing.reason.startswith("points:")
    assert Outbox(till.db).depth() == 0


async def test_one_approval_lets_one_action_through_on_the_till_and_on_the_crm(
    till: Till, loopback_world: World
) -> None:
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    required = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)
    approval = await service.approve(
        required, reason="regular, pays monthly", code="brand-900", pin=SUPERVISOR_PIN
    )
    assert isinstance(await service.sale(customer_id, LINES, ON_ACCOUNT, override=approval), Saved)

    replayed = await service.sale(customer_id, LINES, ON_ACCOUNT, override=approval)

    assert isinstance(replayed, Declined)
    assert "already used" in replayed.reason
    await till.sync()
    # A replay that reaches the CRM anyway (another till, a tampered outbox) is refused there;
    # the op that first carried the approval, resent, is still the one action it approved.
    [first] = Outbox(till.db).entries(OpState.ACKED)
    with CrmOutbox(loopback_world, "brand.a") as other:
        again = other.op(
            OpType.SALE,
            customer_id,
            sale(("store_credit", 1_500)),
            override=approval.model_dump(mode="json"),
        )
        [refused] = other.apply(again)
    assert refused["status"] == "rejected"
    assert "already used" in refused["reason"]
    async with CrmClient(till.crm_url, token=till.token) as client:
        resent = await client.push([first.op])
    assert [r.status for r in resent.results] == [OpStatus.DUPLICATE]


async def test_online_wrong_pins_lock_the_supervisor_at_the_crm(
    till: Till, loopback_world: World
) -> None:
    add_operator(loopback_world, "org-brand", "brand-locks", pin="135790", role=Role.SUPERVISOR)
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    required = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)

    refusals = []
    for _ in range(6):
        with pytest.raises(OverrideRefused) as refused:
            await service.approve(required, reason="ok", code="brand-locks", pin="000000")
        refusals.append(str(refused.value))
    with pytest.raises(OverrideRefused) as right_pin:
        await service.approve(required, reason="ok", code="brand-locks", pin="135790")

    assert refusals[:4] == ["wrong PIN or badge"] * 4
    locked = re.compile(r"brand-locks is locked, try in (\d+) s")
    for refusal in [*refusals[4:], str(right_pin.value)]:
        found = locked.fullmatch(refusal)
        assert found is not None, refusal
        assert 0 < int(found[1]) <= 900
    assert Outbox(till.db).depth() == 0


async def test_offline_the_cached_hashes_approve_and_the_crm_flags_the_op_for_review(
    till: Till, loopback_world: World
) -> None:
    _, customer_id = await _cashier_and_customer(till, loopback_world)
    offline = till.service(down=True)
    await offline.login("brand-100", CASHIER_PIN)
    required = await offline.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)

    approval = await offline.approve(
        required, reason="regular", code="brand-900", pin=SUPERVISOR_PIN
    )
    assert approval.verification_id is None
    assert isinstance(await offline.sale(customer_id, LINES, ON_ACCOUNT, override=approval), Saved)
    await till.sync()

    [flagged] = Outbox(till.db).entries(OpState.NEEDS_REVIEW)
    assert flagged.op.override == approval
    assert approval_needs_review(loopback_world, approval.approval_id) is True


@pytest.mark.parametrize("secret", ["pin", "badge"])
async def test_online_a_pin_or_badge_longer_than_any_is_refused_in_the_dialog(
    till: Till, loopback_world: World, secret: str
) -> None:
    """A PIN or badge past what the CRM reads (a key held down, a garbled swipe) is refused
    with a message before anything is sent, never an error that ends the dialog's worker."""
    service, customer_id = await _cashier_and_customer(till, loopback_world)
    required = await service.sale(customer_id, LINES, ON_ACCOUNT)
    assert isinstance(required, OverrideRequired)
    entered = {"code": "brand-900", "pin": "9" * 129} if secret == "pin" else {"badge": "B" * 129}
    with pytest.raises(OverrideRefused, match="longer than any a keypad or card gives"):
        await service.approve(required, reason="ok", **entered)
    assert Outbox(till.db).depth() == 0
