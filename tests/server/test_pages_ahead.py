"""The CRM builds a till's next pull page while the till stores the one it has, and never
hands a till a page read before the till's own ops applied."""

from __future__ import annotations

import threading
from collections.abc import Callable
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


def _pages_of_twenty(built: list[tuple[str, int]]) -> Callable[[int, int], PullPage]:
    """Pages of a 40-customer scope as bodies naming them; records who built which."""

    def build(after: int, limit: int) -> PullPage:
        built.append((threading.current_thread().name, after))
        return PullPage(f"page after {after}", after + limit, after + limit < 40, 0)

    return build


def test_the_next_page_is_built_in_a_thread_of_its_own_before_it_is_asked_for() -> None:
    built: list[tuple[str, int]] = []
    build = _pages_of_twenty(built)
    ahead = PagesAhead()
    assert ahead.page("t1", "till 1", 0, 20, build=build, ops_applied=lambda: 0).body == (
        "page after 0"
    )
    ahead.settled("t1")
    assert [after for _, after in built] == [0, 20]  # page 2, before anyone asked for it
    assert built[1][0].startswith("tillcrm-page-ahead")
    assert ahead.page("t1", "till 1", 20, 20, build=build, ops_applied=lambda: 0).body == (
        "page after 20"
    )
    assert [after for _, after in built] == [0, 20]  # taken, not built again


def test_a_page_ahead_is_built_again_for_another_cursor_view_or_applied_op() -> None:
    built: list[tuple[str, int]] = []
    build = _pages_of_twenty(built)
    ahead = PagesAhead()
    ahead.page("t1", "till 1", 0, 20, build=build, ops_applied=lambda: 0)
    ahead.settled("t1")
    ahead.page("t1", "till 1", 0, 20, build=build, ops_applied=lambda: 0)  # another cursor
    ahead.settled("t1")
    ahead.page("t1", "till 1 moved", 20, 20, build=build, ops_applied=lambda: 0)  # its scope
    ahead.page("t2", "till 2", 0, 20, build=build, ops_applied=lambda: 0)
    ahead.settled("t2")
    ahead.page("t2", "till 2", 20, 20, build=build, ops_applied=lambda: 1)  # it pushed
    requests = [after for name, after in built if not name.startswith("tillcrm-page-ahead")]
    assert requests == [0, 0, 20, 0, 20]


def _change_seqs(world: World, org: str) -> dict[UUID, int]:
    with reading(world.crm.engine) as conn:
        rows = conn.execute(
            sa.select(customers.c.id, customers.c.change_seq).where(
                customers.c.org_id == ORGS[org].id
            )
        )
        return {UUID(str(row.id)): int(row.change_seq) for row in rows}


def test_a_page_read_before_the_tills_own_op_applied_is_never_handed_to_it(
    world: World,
) -> None:
    for n in range(7):
        put_customer(world, "units", "a", first_name=f"Ahead{n}")
    with world.client("units.b") as http, Outbox(world, "units.b") as till:
        first = http.get("/sync/pull", params={"cursor": "", "limit": 2}).json()
        assert first["more"]
        world.crm.pages_ahead.settled(till.till_id)  # the next page, read before the sale
        seqs = _change_seqs(world, "units")
        pulled = {UUID(c["id"]) for c in first["customers"]}
        next_up = min((seq, c) for c, seq in seqs.items() if c not in pulled)[1]
        till.apply(till.op(OpType.SALE, next_up, sale(("cash", 2000))))
        rest, _ = _pull_all(http, first["cursor"], limit=2)
    seen = [c for c in rest if UUID(c["id"]) == next_up]
    assert seen, "the customer the till sold to never came"
    assert seen[0]["balances"]["points"] == [{"brand_id": None, "balance": 20}]
