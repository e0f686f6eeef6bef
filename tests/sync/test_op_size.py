"""Ops too large for the CRM, against the real CRM on loopback (SQLite, and PostgreSQL when
`TILLCRM_TEST_PG_URL` is set): the till sizes each push by bytes under the limit the CRM says,
a push answered 413 is split down to one op, an op too large alone goes dead with its size and
the limit while the ops after it sync, and sales of 500 lines sync at the CRM's own limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.crm_server import database_kinds
from tests.support.customers import put_customer
from tests.support.till_db import queue_sale
from tests.support.world import World, world_on_a_crm_of_its_own
from tillcrm.api import (
    BODY_LIMIT_HEADER,
    encoded_op,
    push_body,
)
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import Meta, OpState, Outbox, TillDatabase, open_database
from tillcrm.server.request_limits import MAX_BODY_BYTES
from tillcrm.server.tables import applied_ops
from tillcrm.sync import SyncEngine, SyncStatus

SMALL_LIMIT = 16 * 1024
"""The body limit of the small CRMs here: a sale of 100 long lines passes it."""

pytestmark = pytest.mark.parametrize("kind", database_kinds())


class PushWatch(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping each push's body size and answer status. With
    `advertise` False it drops the CRM's `BODY_LIMIT_HEADER`, as a proxy answering 413 or an
    older CRM would: a fault shape the reference CRM cannot produce."""

    def __init__(self, *, advertise: bool = True) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._advertise = advertise
        self.pushes: list[tuple[int, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith("/sync/push"):
            self.pushes.append((len(request.content), response.status_code))
        if not self._advertise:
            del response.headers[BODY_LIMIT_HEADER]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TillDatabase]:
    database = open_database(tmp_path / "till.sqlite3")
    yield database
    database.close()


def engine_for(
    db: TillDatabase, world: World, transport: PushWatch, settings: SyncSettings
) -> tuple[SyncEngine, CrmClient, list[SyncStatus]]:
    statuses: list[SyncStatus] = []
    client = CrmClient(world.crm.url, token=world.tokens["brand.a"], transport=transport)
    return SyncEngine(db, client, settings, on_status=statuses.append), client, statuses


@pytest.mark.parametrize("advertise", [True, False], ids=["limit-said", "limit-unsaid"])
async def test_a_push_too_large_is_split_and_an_op_too_large_alone_goes_dead(
    kind: str, advertise: bool, db: TillDatabase, tmp_path: Path
) -> None:
    with world_on_a_crm_of_its_own(kind, tmp_path, max_body_bytes=SMALL_LIMIT) as world:
        customer = put_customer(world, "brand", "a", first_name="Long")
        before = queue_sale(db, customer)
        huge = queue_sale(db, customer, lines=100, description="x" * 200)
        after = [queue_sale(db, customer) for _ in range(3)]
        watch = PushWatch(advertise=advertise)
        engine, client, statuses = engine_for(db, world, watch, SyncSettings(batch_size=10))
        async with client:
            assert await engine.push_once() == 5  # the huge one answered rejected
        with world.crm.engine.connect() as conn:
            taken = conn.execute(
                sa.select(applied_ops.c.status, applied_ops.c.reason).where(
                    applied_ops.c.op_id == huge.op_id
                )
            ).one()

    outbox = Outbox(db)
    [dead] = outbox.entries(OpState.DEAD)
    assert dead.op == huge
    size = len(push_body([encoded_op(huge)]))
    said = f"limit {SMALL_LIMIT}" if advertise else "over a limit it does not say"
    assert dead.last_error == f"too large for the CRM: {size} bytes, {said}"
    assert tuple(taken) == ("rejected", dead.last_error)  # the CRM took its seq
    assert [entry.op for entry in outbox.entries(OpState.ACKED)] == [before, *after]
    assert (statuses[-1].dead, statuses[-1].queue_depth, statuses[-1].problem) == (1, 0, "")
    whole, half = (
        len(push_body(map(encoded_op, ops))) for ops in ([before, huge, *after], [before, huge])
    )
    # The whole batch first; where the CRM says its limit, that answer sizes every push
    # after it (and the huge op goes dead unsent), else halves are refused down to the op.
    refused = [sent for sent, status in watch.pushes if status == 413]
    assert refused == ([whole] if advertise else [whole, half, size])


def _nested(depth: int) -> object:
    return {"x": _nested(depth - 1)} if depth else "deep"


async def test_an_op_refused_with_its_whole_push_is_withheld_so_its_seq_is_taken(
    kind: str, db: TillDatabase, tmp_path: Path
) -> None:
    """A push the CRM refuses whole (422: it would not read past the op's nesting) is
    narrowed to the op; sent again withheld, its rejection is stored for its seq, so the CRM
    takes the ops after it with no gap to stop at."""
    with world_on_a_crm_of_its_own(kind, tmp_path, max_body_bytes=SMALL_LIMIT) as world:
        customer = put_customer(world, "brand", "a", first_name="Deep")
        deep = queue_sale(db, customer)
        after = [queue_sale(db, customer) for _ in range(2)]
        with db.write() as conn:
            conn.execute(
                "UPDATE outbox SET payload = json_set(payload, '$.event_id', json(?)) "
                "WHERE seq = ?",
                (json.dumps(_nested(40)), deep.seq),
            )
        watch = PushWatch()
        engine, client, statuses = engine_for(db, world, watch, SyncSettings(batch_size=10))
        async with client:
            await engine.push_once()
        with world.crm.engine.connect() as conn:
            taken = conn.execute(
                sa.select(applied_ops.c.status, applied_ops.c.reason).where(
                    applied_ops.c.op_id == deep.op_id
                )
            ).one()

    outbox = Outbox(db)
    [dead] = outbox.entries(OpState.DEAD)
    assert dead.op.op_id == deep.op_id
    assert dead.last_error.startswith("the CRM refused it: ")
    assert tuple(taken) == ("rejected", dead.last_error)
    assert [entry.op for entry in outbox.entries(OpState.ACKED)] == after
    assert Meta(db).seq_stop() is None
    assert (statuses[-1].queue_depth, statuses[-1].blocking) == (0, "")
    assert [status for _, status in watch.pushes].count(422) == 2  # the batch, then the op


async def test_no_push_passes_the_limit_the_crm_says(
    kind: str, db: TillDatabase, tmp_path: Path
) -> None:
    with world_on_a_crm_of_its_own(kind, tmp_path, max_body_bytes=SMALL_LIMIT) as world:
        customer = put_customer(world, "brand", "a", first_name="Many")
        ops = [queue_sale(db, customer, lines=10, description="y" * 200) for _ in range(20)]
        watch = PushWatch()
        engine, client, _ = engine_for(db, world, watch, SyncSettings(batch_size=200))
        async with client:
            assert (await client.me()).max_body_bytes == SMALL_LIMIT  # as the app starts
            assert await engine.push_once() == len(ops)

    assert [entry.op for entry in Outbox(db).entries(OpState.ACKED)] == ops
    assert len(watch.pushes) > 1
    assert all(status == 200 and sent <= SMALL_LIMIT for sent, status in watch.pushes)


async def test_sales_of_500_lines_sync_at_the_crms_own_limit(
    kind: str, db: TillDatabase, tmp_path: Path
) -> None:
    # 500 lines of 200 four-byte characters: about 0.4 MB a sale, the largest a till makes,
    # so twelve of them are more than the CRM's 4 MB in one push of the default batch size.
    with world_on_a_crm_of_its_own(kind, tmp_path, max_body_bytes=MAX_BODY_BYTES) as world:
        customer = put_customer(world, "brand", "a", first_name="Banquet")
        ops = [
            queue_sale(db, customer, lines=500, description="\N{FORK AND KNIFE WITH PLATE}" * 200)
            for _ in range(12)
        ]
        watch = PushWatch()
        engine, client, statuses = engine_for(db, world, watch, SyncSettings())
        async with client:
            assert await engine.push_once() == len(ops)

    assert [entry.op for entry in Outbox(db).entries(OpState.ACKED)] == ops
    assert all(status == 200 for _, status in watch.pushes)
    assert statuses[-1].queue_depth == 0
