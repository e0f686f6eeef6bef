"""A card identifies at most one customer among organizations that see each other's customers.

The families of `tests.support.world`: a brand-scoped organization's two brands, two
organization units, and a connected parent with two child organizations. A till adding a card
another customer holds (in its scope or not) gets one answer, which tells it nothing of where
the card is; the database's unique index refuses the second of two tills racing for a card.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from tests.support.crm_server import database_kinds, fresh_database
from tests.support.outbox import Outbox
from tests.support.world import ORGS, World
from tillcrm.api import OpType
from tillcrm.server.db import create_db_engine, reading, writing
from tillcrm.server.migrate import alembic_config
from tillcrm.server.tables import identifiers

PAIRS = [
    pytest.param("brand.a", "brand.b", id="other-brand"),
    pytest.param("brand.b", "brand.b", id="same-brand"),
    pytest.param("units.a", "units.b", id="other-unit"),
    pytest.param("child1.a", "child2.a", id="sibling-child"),
    pytest.param("child1.a", "parent.a", id="parent-of-child"),
    pytest.param("parent.a", "child1.a", id="child-of-parent"),
]
"""(the till whose customer holds a card, the till trying to give it to another customer)."""


def acting(till: str) -> dict[str, str]:
    return {"X-Operator-Id": f"{till.split('.')[0]}-cashier"}


def refused(kind: str, value: str) -> str:
    """The one answer for an identifier that cannot be added."""
    return f"{kind} {value} cannot be added to this customer"


def create(
    world: World, till: str, cards: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    """POST a new customer at `till` with `cards` ({kind: value})."""
    payload = {
        "profile": {"first_name": "Fam", "last_name": f"Ily{uuid4().hex[:6]}"},
        "identifiers": [{"kind": k, "value": v} for k, v in (cards or {}).items()],
        **body,
    }
    with world.client(till) as http:
        return http.post("/customers", json=payload, headers=acting(till))


def created(world: World, till: str, cards: dict[str, str] | None = None) -> UUID:
    response = create(world, till, cards)
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def add_card(world: World, till: str, customer: UUID, kind: str, value: str) -> dict[str, Any]:
    """Push an identifier_add op from `till`; its result."""
    with Outbox(world, till) as outbox:
        (result,) = outbox.apply(
            outbox.op(OpType.IDENTIFIER_ADD, customer, {"kind": kind, "value": value})
        )
    return result


def identified(world: World, till: str, kind: str, value: str) -> str | None:
    with world.client(till) as http:
        answer = http.get("/identify", params={"kind": kind, "value": value})
    return answer.json()["customer"]["id"] if answer.status_code == 200 else None


def new_card() -> str:
    return f"FAM{uuid4().hex[:10].upper()}"


@pytest.mark.parametrize("kind", ["barcode", "magstripe"])
@pytest.mark.parametrize(("holder_till", "taker_till"), PAIRS)
def test_a_card_held_in_the_family_is_refused_with_one_answer(
    world: World, holder_till: str, taker_till: str, kind: str
) -> None:
    card = new_card()
    holder = created(world, holder_till, {kind: card})
    taker = created(world, taker_till)

    pushed = add_card(world, taker_till, taker, kind, card)
    assert (pushed["status"], pushed["reason"]) == ("rejected", refused(kind, card))
    online = create(world, taker_till, {kind: card})
    assert online.status_code == 422
    assert (online.json()["code"], online.json()["detail"]) == ("rejected", refused(kind, card))

    assert identified(world, holder_till, kind, card) == str(holder)
    with reading(world.crm.engine) as conn:
        holders = conn.execute(
            sa.select(identifiers.c.customer_id).where(
                identifiers.c.kind == kind, identifiers.c.value == card
            )
        ).all()
    assert holders == [(holder,)]


def test_a_customer_keeps_and_reactivates_their_own_card(world: World) -> None:
    card = new_card()
    customer = created(world, "child1.a", {"magstripe": card})
    with Outbox(world, "child1.a") as outbox:
        block, again = outbox.apply(
            outbox.op(OpType.IDENTIFIER_BLOCK, customer, {"kind": "magstripe", "value": card}),
            outbox.op(OpType.IDENTIFIER_ADD, customer, {"kind": "magstripe", "value": card}),
        )
    assert (block["status"], again["status"]) == ("applied", "applied")
    assert identified(world, "child1.a", "magstripe", card) == str(customer)
    # The parent sees the customer but not child one's card: it cannot take it over either.
    taken = add_card(world, "parent.a", customer, "magstripe", card)
    assert (taken["status"], taken["reason"]) == ("rejected", refused("magstripe", card))


@pytest.mark.parametrize(
    ("owner_till", "other_till"),
    [("brand.a", "brand.b"), ("child1.a", "child2.a"), ("parent.a", "child2.a")],
)
def test_a_customer_id_used_out_of_scope_answers_as_a_conflict(
    world: World, owner_till: str, other_till: str
) -> None:
    customer = created(world, owner_till)
    answer = create(world, other_till, id=str(customer))
    assert answer.status_code == 422
    expected = f"customer id {customer} is already used"
    assert (answer.json()["code"], answer.json()["detail"]) == ("rejected", expected)
    with Outbox(world, other_till) as outbox:
        (pushed,) = outbox.apply(outbox.op(OpType.CUSTOMER_CREATE, customer, {"profile": {}}))
    assert (pushed["status"], pushed["reason"]) == ("rejected", expected)


def test_a_wallet_card_id_used_out_of_scope_answers_as_a_conflict(world: World) -> None:
    """The Idempotency-Key of a wallet addition is the card's id: one that is another
    customer's card was a 500 (the table's key) where a free one is a 201."""
    key = str(uuid4())
    body = {"card_number": "4111111111111111", "exp_month": 12, "exp_year": 2031}
    owner, other = created(world, "brand.a"), created(world, "brand.b")

    def add(till: str, customer: UUID) -> httpx.Response:
        with world.client(till) as http:
            return http.post(
                f"/customers/{customer}/wallet",
                json=body,
                headers={**acting(till), "Idempotency-Key": key},
            )

    first, elsewhere, again = add("brand.a", owner), add("brand.b", other), add("brand.a", owner)
    assert [a.status_code for a in (first, elsewhere, again)] == [201, 422, 201]
    expected = f"wallet card id {key} is already used"
    assert (elsewhere.json()["code"], elsewhere.json()["detail"]) == ("rejected", expected)
    assert again.json() == first.json()


def _card_row(org: str, customer: UUID, kind: str, value: str, family: str) -> dict[str, Any]:
    return {
        "org_id": ORGS[org].id,
        "family_id": family,
        "kind": kind,
        "value": value,
        "customer_id": customer,
        "status": "active",
    }


def test_the_database_refuses_a_second_holder_of_a_card_in_a_family(world: World) -> None:
    card, phone = new_card(), "+14155550123"
    first = created(world, "child1.a", {"magstripe": card})
    second = created(world, "child2.a")
    family = ORGS["parent"].id
    with pytest.raises(IntegrityError), writing(world.crm.engine) as conn:
        conn.execute(identifiers.insert(), _card_row("child2", second, "magstripe", card, family))
    with writing(world.crm.engine) as conn:  # a phone number may reach two people
        conn.execute(
            identifiers.insert(),
            [
                _card_row("child1", first, "phone", phone, family),
                _card_row("child2", second, "phone", phone, family),
            ],
        )


def test_of_two_tills_racing_for_one_card_only_the_first_gets_it(world: World) -> None:
    """Child one's op holds the card, not yet committed, while child two's op checks and
    inserts it: child two's op must wait for the first and then be refused."""
    card = new_card()
    first = created(world, "child1.a")
    second = created(world, "child2.a")
    results: list[dict[str, Any]] = []
    with writing(world.crm.engine) as conn:
        conn.execute(
            identifiers.insert(),
            _card_row("child1", first, "magstripe", card, ORGS["parent"].id),
        )
        racer = threading.Thread(
            target=lambda: results.append(add_card(world, "child2.a", second, "magstripe", card))
        )
        racer.start()
        time.sleep(0.5)
        assert results == []
    racer.join(timeout=30)
    assert [(r["status"], r["reason"]) for r in results] == [
        ("rejected", refused("magstripe", card))
    ]
    assert identified(world, "child1.a", "magstripe", card) == str(first)


# -- the migration -------------------------------------------------------------------------------


@pytest.fixture(params=database_kinds())
def at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database migrated to 0006 with a connected parent, a child and a customer."""
    with fresh_database(request.param, tmp_path) as url:
        command.upgrade(alembic_config(url), "0006")
        engine = create_db_engine(url)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for org, parent in (("p", None), ("c1", "p"), ("c2", "p")):
                conn.execute(
                    sa.text(
                        "INSERT INTO organizations (id, name, kind, customer_scope,"
                        " points_policy, parent_id, currency, point_value)"
                        " VALUES (:id, :id, 'connected', 'organization', 'shared_pool',"
                        " :parent, 'USD', 1)"
                    ),
                    {"id": org, "parent": parent},
                )
            for number, customer in enumerate((UUID(int=1), UUID(int=2))):
                conn.execute(
                    sa.table(
                        "customers",
                        *(sa.column(c) for c in ("id", "org_id", "customer_number")),
                        *(sa.column(c) for c in ("profile", "version", "change_seq")),
                        sa.column("created_at"),
                        sa.column("updated_at"),
                    ).insert(),
                    {
                        "id": customer.hex if request.param == "sqlite" else customer,
                        "org_id": "p",
                        "customer_number": f"N{number}",
                        "profile": "{}",
                        "version": 1,
                        "change_seq": number,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
        yield engine
        engine.dispose()


def _old_card(conn: sa.Connection, org: str, customer: int, value: str) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO identifiers (org_id, kind, value, customer_id, status)"
            " VALUES (:org, 'magstripe', :value, :customer, 'active')"
        ),
        {"org": org, "value": value, "customer": _uuid_param(conn, UUID(int=customer))},
    )


def _uuid_param(conn: sa.Connection, value: UUID) -> str:
    return value.hex if conn.dialect.name == "sqlite" else str(value)


def test_the_migration_puts_each_card_in_its_family(at_0006: sa.Engine) -> None:
    with at_0006.begin() as conn:
        _old_card(conn, "c1", 1, "M-1")
        _old_card(conn, "p", 2, "M-2")
    command.upgrade(alembic_config(at_0006.url.render_as_string(hide_password=False)), "head")
    with at_0006.connect() as conn:
        rows = conn.execute(sa.select(identifiers.c.value, identifiers.c.family_id)).all()
    families = {row.value: row.family_id for row in rows}
    assert families == {"M-1": "p", "M-2": "p"}


def test_the_migration_stops_at_a_card_two_customers_of_a_family_hold(
    at_0006: sa.Engine,
) -> None:
    with at_0006.begin() as conn:
        _old_card(conn, "c1", 1, "M-TWICE")
        _old_card(conn, "c2", 2, "M-TWICE")
    url = at_0006.url.render_as_string(hide_password=False)
    with pytest.raises(RuntimeError, match="p magstripe M-TWICE"):
        command.upgrade(alembic_config(url), "head")
