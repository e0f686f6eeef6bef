"""A till's outbox for server tests: ops numbered gap-free and pushed over HTTP, plus the
stored-value cards and overrides those ops need."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import sqlalchemy as sa

from tests.support.world import SUPERVISOR_PIN, World
from tillcrm.api import OpType
from tillcrm.server.db import reading, writing
from tillcrm.server.tables import override_approvals, stored_value_cards, till_sync


class Outbox:
    """Ops of one till (`brand.a`, `pool.b`, ...), numbered from the CRM's last seq for it."""

    def __init__(self, world: World, till: str) -> None:
        self.world = world
        self.org = till.split(".")[0]
        self.http: httpx.Client = world.client(till)
        self.till_id: str = self.http.get("/tills/me").json()["till_id"]
        self.seq = self.last_seq()

    def last_seq(self) -> int:
        """The CRM's last applied seq for this till, read from its table."""
        with reading(self.world.crm.engine) as conn:
            return int(
                conn.execute(
                    sa.select(till_sync.c.last_seq).where(till_sync.c.till_id == self.till_id)
                ).scalar_one()
            )

    def op(
        self,
        op_type: OpType,
        customer: UUID,
        payload: dict[str, Any],
        *,
        operator: str = "cashier",
        **fields: Any,
    ) -> dict[str, Any]:
        """The next op as JSON; `operator` is `cashier` or `super` of the till's org."""
        self.seq += 1
        return {
            "op_id": str(uuid4()),
            "seq": self.seq,
            "type": op_type.value,
            "entity_id": str(customer),
            "payload": payload,
            "local_ts": datetime.now(UTC).isoformat(),
            "operator_id": f"{self.org}-{operator}",
            **fields,
        }

    def verify(self, supervisor: str = "super", *, pin: str = SUPERVISOR_PIN) -> str:
        """The CRM's verification of the org's `supervisor` by PIN, for an approval to carry."""
        response = self.http.post(
            "/operators/verify", json={"supervisor_id": f"{self.org}-{supervisor}", "pin": pin}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["verification_id"])

    def push(self, *ops: dict[str, Any]) -> httpx.Response:
        """POST the ops as one batch."""
        return self.http.post("/sync/push", json={"ops": list(ops)})

    def apply(self, *ops: dict[str, Any]) -> list[dict[str, Any]]:
        """Push the ops and return their results (the push itself must succeed)."""
        response = self.push(*ops)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()


def sale(*tenders: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """A sale payload of one line paid by `tenders` (kind, amount); a points tender spends
    `amount` points (one minor unit each)."""
    total = sum(amount for _, amount in tenders)
    return {
        "transaction_id": str(uuid4()),
        "lines": [{"description": "Hot dog", "quantity": 1, "unit_price": total}],
        "tenders": [
            {"kind": kind, "amount": amount, **({"points": amount} if kind == "points" else {})}
            for kind, amount in tenders
        ],
        **fields,
    }


def override(
    org: str,
    customer: UUID,
    amount: int,
    limits: list[str],
    *,
    kind: str = "sale",
    supervisor: str = "super",
    cashier: str = "cashier",
    verification: str | None = None,
) -> dict[str, Any]:
    """A supervisor's approval of one action, as it travels with an op: checked by the CRM
    when it carries a `verification` (`Outbox.verify`), else only by the till (offline)."""
    return {
        "verification_id": verification,
        "approval_id": str(uuid4()),
        "supervisor_id": f"{org}-{supervisor}",
        "cashier_id": f"{org}-{cashier}",
        "reason": "regular, known to the manager",
        "action": {
            "customer_id": str(customer),
            "kind": kind,
            "amount": amount,
            "limits": limits,
        },
    }


def put_card(
    world: World,
    customer: UUID,
    balance: int,
    *,
    per_event_limit: int | None = None,
    reset_after_event: bool = True,
    per_season_limit: int | None = None,
) -> None:
    """Assign the customer a stored-value card straight in the CRM's database."""
    with writing(world.crm.engine) as conn:
        conn.execute(
            stored_value_cards.insert().values(
                customer_id=customer,
                card_number=f"SV{customer.int % 10**14:014d}",
                currency="USD",
                balance=balance,
                per_event_limit=per_event_limit,
                reset_after_event=reset_after_event,
                per_season_limit=per_season_limit,
            )
        )


def approval_needs_review(world: World, approval_id: UUID | str) -> bool | None:
    """Whether the CRM flagged the approval for review (given offline, not verified by it);
    None when it never accepted the approval."""
    with reading(world.crm.engine) as conn:
        flag = conn.execute(
            sa.select(override_approvals.c.needs_review).where(
                override_approvals.c.approval_id == UUID(str(approval_id))
            )
        ).scalar_one_or_none()
    return None if flag is None else bool(flag)
