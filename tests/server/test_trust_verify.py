"""The CRM verifies an override's supervisor itself: a till online sends the PIN or badge to
`POST /v1/operators/verify`, five wrong tries lock the operator in the CRM's database (429
with `Retry-After`), every try is audited without the PIN, and the verification it answers
lets exactly one op of that till, approved by that supervisor, through before it expires. An
override checked only by the till (offline) is accepted, flagged needs_review, and listed
for an administrator."""

from __future__ import annotations

import asyncio
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.support.customers import put_customer
from tests.support.outbox import Outbox, approval_needs_review, override, sale
from tests.support.world import (
    SUPERVISOR_BADGE,
    SUPERVISOR_PIN,
    World,
    add_operator,
    enroll_till,
)
from tillcrm.api import TILL_THROTTLED, OpType
from tillcrm.cli import main
from tillcrm.crm import CrmClient, CrmLocked
from tillcrm.domain import Role
from tillcrm.server.context import ADMIN_TOKEN_ENV
from tillcrm.server.db import reading, writing
from tillcrm.server.tables import (
    applied_ops,
    audit_log,
    operators,
    supervisor_verifications,
)
from tillcrm.server.verification import TILL_WRONG_TRIES, VERIFICATION_UNUSABLE

ADMIN_TOKEN = "admin-" + "v" * 40
PIN = "246810"


def _supervisor(world: World, name: str) -> str:
    """A supervisor of the brand organization of this test's own, so lockouts stay apart."""
    operator_id = f"brand-{name}"
    add_operator(world, "org-brand", operator_id, pin=PIN, role=Role.SUPERVISOR)
    return operator_id


def _verify(
    world: World, supervisor_id: str, *, till: str = "brand.a", **secret: str
) -> httpx.Response:
    with world.client(till) as http:
        return http.post("/operators/verify", json={"supervisor_id": supervisor_id, **secret})


def _lock_state(world: World, operator_id: str) -> tuple[int, datetime | None]:
    with reading(world.crm.engine) as conn:
        row = conn.execute(
            sa.select(operators.c.wrong_pins, operators.c.locked_until).where(
                operators.c.id == operator_id
            )
        ).one()
    return row.wrong_pins, row.locked_until


def _audited(world: World, operator_id: str) -> list[tuple[str | None, str]]:
    with reading(world.crm.engine) as conn:
        rows = conn.execute(
            sa.select(audit_log.c.till_id, audit_log.c.detail)
            .where(
                audit_log.c.operator_id == operator_id, audit_log.c.action == "supervisor_verify"
            )
            .order_by(audit_log.c.id)
        ).all()
    return [(row.till_id, row.detail) for row in rows]


def test_a_right_pin_or_badge_is_verified_and_every_try_is_audited_without_it(
    world: World,
) -> None:
    supervisor = _supervisor(world, "sup-right")
    wrong = _verify(world, supervisor, pin="000000")
    right = _verify(world, supervisor, pin=PIN)
    badge = _verify(world, "brand-super", badge=SUPERVISOR_BADGE)
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "not_verified"
    assert right.status_code == 200, right.text
    assert right.json()["supervisor_id"] == supervisor
    assert badge.status_code == 200, badge.text
    with world.client("brand.a") as http:
        till_id = http.get("/tills/me").json()["till_id"]
    audited = _audited(world, supervisor)
    assert audited == [(till_id, "wrong PIN or badge (1 of 5)"), (till_id, "verified")]
    assert not any(PIN in detail or "000000" in detail for _, detail in audited)
    assert _lock_state(world, supervisor) == (0, None)  # the right PIN reset the count


def test_an_unknown_operator_reads_like_a_wrong_pin(world: World) -> None:
    unknown = _verify(world, "brand-nobody", pin=PIN)
    other_org = _verify(world, "pool-super", pin=SUPERVISOR_PIN)
    wrong = _verify(world, _supervisor(world, "sup-alike"), pin="000000")
    assert unknown.status_code == other_org.status_code == wrong.status_code == 403
    assert unknown.json() == other_org.json() == wrong.json()


def test_a_cashier_with_the_right_pin_is_not_verified_as_a_supervisor(world: World) -> None:
    add_operator(world, "org-brand", "brand-cash-v", pin=PIN)
    answer = _verify(world, "brand-cash-v", pin=PIN)
    assert answer.status_code == 403
    assert answer.json()["code"] == "not_supervisor"


@pytest.mark.parametrize(
    "body",
    [
        {"supervisor_id": "brand-super"},
        {"supervisor_id": "brand-super", "pin": SUPERVISOR_PIN, "badge": SUPERVISOR_BADGE},
        {"supervisor_id": "brand-super", "pin": "99\x009999"},
        {"supervisor_id": "", "pin": SUPERVISOR_PIN},
        {"supervisor_id": "brand-super", "pin": 999999},
    ],
)
def test_a_malformed_verify_request_is_422(world: World, body: dict[str, Any]) -> None:
    with world.client("brand.a") as http:
        answer = http.post("/operators/verify", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid"


def test_five_wrong_tries_lock_the_operator_in_the_database_until_the_lockout_ends(
    world: World,
) -> None:
    supervisor = _supervisor(world, "sup-lock")
    answers = [_verify(world, supervisor, pin=f"00000{i}") for i in range(5)]
    assert [a.status_code for a in answers] == [403, 403, 403, 403, 429]
    assert int(answers[-1].headers["Retry-After"]) == 15 * 60
    locked = _verify(world, supervisor, pin=PIN)  # even the right PIN, from any till
    other_till = _verify(world, supervisor, pin=PIN, till="brand.b")
    assert locked.status_code == other_till.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "try again in" in locked.json()["detail"]
    wrong_pins, locked_until = _lock_state(world, supervisor)
    assert wrong_pins == 5  # kept by the database, not the process
    assert locked_until is not None
    assert [detail for _, detail in _audited(world, supervisor)][-3:] == [
        "locked (900 s left)",
        f"locked ({locked.headers['Retry-After']} s left)",
        f"locked ({other_till.headers['Retry-After']} s left)",
    ]
    with writing(world.crm.engine) as conn:  # the lockout period passes
        conn.execute(
            operators.update()
            .where(operators.c.id == supervisor)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert _verify(world, supervisor, pin="000000").status_code == 403  # counting anew
    assert _lock_state(world, supervisor)[0] == 1
    assert _verify(world, supervisor, pin=PIN).status_code == 200
    assert _lock_state(world, supervisor) == (0, None)


def test_guesses_racing_in_parallel_get_no_more_than_five_tries(world: World) -> None:
    """Each try is counted before its scrypt check, so ten guesses sent at once cannot all be
    checked while the count still reads under five."""
    supervisor = _supervisor(world, "sup-race")
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda i: _verify(world, supervisor, pin=f"1{i:05d}"), range(10)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [403] * 4 + [429] * 6
    checked = [d for _, d in _audited(world, supervisor) if d.startswith("wrong")]
    assert len(checked) == 4


def test_a_till_guessing_across_operators_is_held_back_after_its_wrong_tries(
    world: World,
) -> None:
    """Five wrong tries lock one operator; a stolen till would move on to the next. After
    `TILL_WRONG_TRIES` wrong tries of any operators, the till itself gets 429 (even for a
    right PIN) while other tills verify the same supervisor."""
    token = enroll_till(world, "brand-a-store", "brand.guesser")
    named = [_supervisor(world, f"sup-guess{i}") for i in range(TILL_WRONG_TRIES // 4 + 1)]
    for supervisor in named[:-1]:  # four wrong tries each: none of them locked
        for i in range(4):
            assert (
                _verify(world, supervisor, pin=f"9{i:05d}", till="brand.guesser").status_code == 403
            )
    held = _verify(world, named[-1], pin=PIN, till="brand.guesser")
    assert held.status_code == 429, held.text
    assert held.json()["code"] == "till_throttled"
    assert 0 < int(held.headers["Retry-After"]) <= 15 * 60
    with pytest.raises(CrmLocked) as at_the_till:  # what the till's client makes of it
        asyncio.run(_verify_with_the_tills_client(world, token, named[-1]))
    assert at_the_till.value.code == TILL_THROTTLED
    assert 0 < at_the_till.value.retry_after <= 15 * 60
    assert _verify(world, named[-1], pin=PIN, till="brand.a").status_code == 200
    assert _lock_state(world, named[-1]) == (0, None)  # the held try was not counted on them
    with reading(world.crm.engine) as conn:
        throttled = (
            conn.execute(
                sa.select(audit_log.c.operator_id).where(
                    audit_log.c.action == "supervisor_verify_throttled"
                )
            )
            .scalars()
            .all()
        )
    assert throttled == [named[-1]] * 2  # the raw try and the till client's


async def _verify_with_the_tills_client(world: World, token: str, supervisor_id: str) -> None:
    async with CrmClient(world.crm.url, token=token) as client:
        await client.verify_supervisor(supervisor_id, pin=PIN)


def _over_the_credit_limit(world: World, name: str) -> UUID:
    return put_customer(world, "brand", "a", first_name=name, store_credit_limit=100)


def _charge(till: Outbox, customer: UUID, approval: dict[str, Any]) -> dict[str, Any]:
    [result] = till.apply(
        till.op(OpType.SALE, customer, sale(("store_credit", 500)), override=approval)
    )
    return result


def test_a_verified_override_is_applied_and_its_verification_used_up(world: World) -> None:
    customer = _over_the_credit_limit(world, "Verified")
    with Outbox(world, "brand.a") as till:
        verification = till.verify()
        first = override("brand", customer, 500, ["credit"], verification=verification)
        again = override("brand", customer, 500, ["credit"], verification=verification)
        applied = _charge(till, customer, first)
        replayed = _charge(till, customer, again)
    assert applied["status"] == "applied", applied["reason"]
    assert replayed["status"] == "rejected"
    assert replayed["reason"] == f"override refused: {VERIFICATION_UNUSABLE}"
    assert approval_needs_review(world, first["approval_id"]) is False
    assert approval_needs_review(world, again["approval_id"]) is None
    with reading(world.crm.engine) as conn:
        spent = conn.execute(
            sa.select(supervisor_verifications).where(
                supervisor_verifications.c.verification_id == UUID(verification)
            )
        ).one()
    assert spent.used_at is not None
    assert spent.op_id is not None


def test_a_foreign_unknown_or_other_supervisors_verification_is_refused_an_expired_one_reviewed(
    world: World,
) -> None:
    """A verification must be this till's and this supervisor's, and unused. One that expired
    before its op arrived (the network went down after the check) is as good as an offline
    approval: the sale stands, flagged for review, rather than being undone after the
    customer left."""
    customer = _over_the_credit_limit(world, "Foreign")
    other = _supervisor(world, "sup-other")
    with Outbox(world, "brand.b") as other_till:
        foreign = other_till.verify()
    with Outbox(world, "brand.a") as till:
        expired = till.verify()
        with writing(world.crm.engine) as conn:
            conn.execute(
                supervisor_verifications.update()
                .where(supervisor_verifications.c.verification_id == UUID(expired))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        for_other = till.verify()  # brand-super's, claimed for another supervisor
        late = override("brand", customer, 500, ["credit"], verification=expired)
        reviewed = _charge(till, customer, late)
        approvals = [
            override("brand", customer, 500, ["credit"], verification=foreign),
            override("brand", customer, 500, ["credit"], verification=expired),  # now used
            override("brand", customer, 500, ["credit"], verification=str(uuid4())),
            {
                **override("brand", customer, 500, ["credit"], verification=for_other),
                "supervisor_id": other,
            },
        ]
        results = [_charge(till, customer, approval) for approval in approvals]
        unused = _charge(
            till, customer, override("brand", customer, 500, ["credit"], verification=for_other)
        )
    assert [(r["status"], r["reason"]) for r in results] == [
        ("rejected", f"override refused: {VERIFICATION_UNUSABLE}")
    ] * 4
    assert unused["status"] == "applied"  # the refused op did not use it up
    assert reviewed["status"] == "needs_review"
    assert "its verification expired" in reviewed["reason"]
    assert approval_needs_review(world, late["approval_id"]) is True


def test_an_offline_override_is_applied_flagged_for_review_and_listed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, ADMIN_TOKEN)
    customer = _over_the_credit_limit(world, "Offline")
    approval = override("brand", customer, 500, ["credit"])
    with Outbox(world, "brand.a") as till:
        result = _charge(till, customer, approval)
    assert result["status"] == "needs_review"
    assert "checked only by the till" in result["reason"]
    assert approval_needs_review(world, approval["approval_id"]) is True
    with world.crm.client(ADMIN_TOKEN) as http:
        listed = http.get("/admin/overrides/review", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    [mine] = [item for item in listed.json() if item["approval_id"] == approval["approval_id"]]
    assert (mine["supervisor_id"], mine["cashier_id"]) == ("brand-super", "brand-cashier")
    assert mine["till_id"] == till.till_id
    assert mine["op_id"] is not None
    printed = CliRunner().invoke(
        main, ["crm", "overrides-to-review", "--db", world.crm.db_url, "--limit", "500"]
    )
    assert printed.exit_code == 0, printed.output
    assert f"till {till.till_id} op {mine['op_id']}: brand-super approved" in printed.output


def test_an_override_op_answered_before_verifications_existed_still_answers_its_resend(
    world: World,
) -> None:
    customer = _over_the_credit_limit(world, "Resent")
    approval = override("brand", customer, 500, ["credit"])
    del approval["verification_id"]  # as a till before 0010 sent it
    with Outbox(world, "brand.a") as till:
        op = till.op(OpType.SALE, customer, sale(("store_credit", 500)), override=approval)
        [first] = till.apply(op)
        material = {key: op[key] for key in ("type", "entity_id", "payload", "override")}
        before = hashlib.sha256(
            json.dumps({**material, "base_version": None}, sort_keys=True).encode()
        ).hexdigest()
        with reading(world.crm.engine) as conn:
            stored = conn.execute(
                sa.select(applied_ops.c.payload_hash).where(
                    applied_ops.c.op_id == UUID(op["op_id"])
                )
            ).scalar_one()
        [again] = till.apply(op)
    assert stored == before
    assert first["status"] == again["status"] == "needs_review"
