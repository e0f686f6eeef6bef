"""The CRM builds a till's next pull page while the till stores the one it has, and drops it
when that till pushes (the page was read before the till's own ops)."""

from __future__ import annotations

import threading
import time
from uuid import UUID

import sqlalchemy as sa

from tests.server.test_sync import _pull_all
from tests.support.customers import put_customer
from tests.support.outbox import Outbox, sale
from tests.support.world import ORGS, World
from tillcrm.api import OpType
from tillcrm.server.db import reading
from tillcrm.server.pages_ahead import PagesAhead, PullPage
from tillcrm.server.tables import customers


def test_the_next_page_is_built_in_a_thread_of_its_own_before_it_is_asked_for() -> None:
    built: list[tuple[str, int, int]] = []
    asked_before = threading.Event()

    def build(after: int, limit: int) -> PullPage:
        built.append((threading.current_thread().name, after, limit))
        if after == 20:
            asked_before.set()
        return PullPage(f"page after {after}", after + limit, more=after + limit < 40)

    ahead = PagesAhead()
    assert ahead.page("till-1", 0, 20, build).body == "page after 0"
    assert asked_before.wait(5)  # page 2, built before anyone asked for it
    assert ahead.page("till-1", 20, 20, build).body == "page after 20"
    assert ahead.page("till-1", 0, 20, build).body == "page after 0"  # not the page ahead
    assert [(after, limit) for _, after, limit in built] == [(0, 20), (20, 20), (0, 20)]
    assert built[1][0].startswith("tillcrm-page-ahead")
    assert not built[0][0].startswith("tillcrm-page-ahead")


def _change_seqs(world: World, org: str) -> dict[UUID, int]:
    with reading(world.crm.engine) as conn:
        rows = conn.execute(
            sa.select(customers.c.id, customers.c.change_seq).where(
                customers.c.org_id == ORGS[org].id
            )
        )
        return {UUID(str(row.id)): int(row.change_seq) for row in rows}


def test_a_tills_push_drops_its_page_ahead_so_it_never_pulls_its_op_undone(world: World) -> None:
    for n in range(7):
        put_customer(world, "units", "a", first_name=f"Ahead{n}")
    with world.client("units.b") as http, Outbox(world, "units.b") as till:
        first = http.get("/sync/pull", params={"cursor": "", "limit": 2}).json()
        assert first["more"]
        # The next page is built ahead now; give it time to be read before the push.
        time.sleep(0.3)
        seqs = _change_seqs(world, "units")
        pulled = {UUID(c["id"]) for c in first["customers"]}
        next_up = min((seq, c) for c, seq in seqs.items() if c not in pulled)[1]
        till.apply(till.op(OpType.SALE, next_up, sale(("cash", 2000))))
        rest, _ = _pull_all(http, first["cursor"], limit=2)
    seen = [c for c in rest if UUID(c["id"]) == next_up]
    assert seen, "the customer the till sold to never came"
    assert seen[0]["balances"]["points"] == [{"brand_id": None, "balance": 20}]
