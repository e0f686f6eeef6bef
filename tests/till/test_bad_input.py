"""Input no database can store (a NUL, a lone surrogate, an integer beyond 64 bits) is refused
by the till when it is saved: a clear reason for the cashier, nothing cached, nothing queued.

Models built without validation (`model_construct`) stand in for any way such a value could
slip past a form: the check at the write is the last gate before the outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import pytest

from tests.support.customers import put_customer
from tests.support.till import Till
from tests.support.world import CASHIER_PIN, SUPERVISOR_PIN, World
from tillcrm.api import PointsRedeem, SaleLineTender
from tillcrm.domain import (
    AuthorizedUser,
    CustomerProfile,
    IdentifierKind,
    TenderKind,
    TransactionLine,
)
from tillcrm.local import LoginRefusal, OpState
from tillcrm.till import (
    Declined,
    Identification,
    LoginRefused,
    NotFound,
    OverrideRefused,
    OverrideRequired,
    TillService,
)

NUL = "Ann\x00"
SURROGATE = "Ann\ud800"
HUGE = 2**63

NUL_REFUSED = "a NUL character cannot be saved; retype the text"
SURROGATE_REFUSED = "a broken character (a lone surrogate) cannot be saved; retype the text"
TOO_LARGE = "the number is too large to be saved"
UNREADABLE = "no card or number holds a NUL or a broken character; scan or type it again"

Write = Callable[[TillService, UUID], Awaitable[object]]


async def _create(till: TillService, _: UUID) -> object:
    return till.create_customer(CustomerProfile.model_construct(first_name=NUL))


async def _edit_name(till: TillService, customer_id: UUID) -> object:
    return await till.edit_customer(customer_id, {"last_name": SURROGATE}, 1)


async def _edit_field(till: TillService, customer_id: UUID) -> object:
    return await till.edit_customer(customer_id, {"custom_fields": {NUL: "x"}}, 1)


async def _edit_limit(till: TillService, customer_id: UUID) -> object:
    return await till.edit_customer(customer_id, {"transaction_limit": HUGE}, 1)


async def _authorize(till: TillService, customer_id: UUID) -> object:
    user = AuthorizedUser.model_construct(id=uuid4(), first_name=SURROGATE, last_name="")
    return till.add_authorized_user(customer_id, user)


async def _sale_line(till: TillService, customer_id: UUID) -> object:
    line = TransactionLine.model_construct(description=NUL, quantity=1, unit_price=500)
    return await till.sale(customer_id, [line], [SaleLineTender(kind=TenderKind.CASH, amount=500)])


async def _sale_amount(till: TillService, customer_id: UUID) -> object:
    line = TransactionLine.model_construct(description="Tea", quantity=1, unit_price=HUGE)
    cash = SaleLineTender.model_construct(kind=TenderKind.CASH, amount=HUGE, points=None)
    return await till.sale(customer_id, [line], [cash])


async def _redeem_points(till: TillService, customer_id: UUID) -> object:
    return await till.redeem_points(customer_id, HUGE, "Mug")


async def _redeem_reason(till: TillService, customer_id: UUID) -> object:
    return await till.redeem_points(customer_id, 1, NUL)


async def _membership(till: TillService, customer_id: UUID) -> object:
    return till.update_membership(customer_id, label=SURROGATE)


def _cached(till: TillService, customer_id: UUID) -> dict[str, object]:
    """The cached record, but for when the CRM last read its balances (a write may refresh
    the record from the CRM first)."""
    record = till.cached_profile(customer_id)
    assert record is not None
    return record.model_dump(exclude={"balances": {"as_of"}})


@pytest.mark.parametrize(
    ("write", "refusal"),
    [
        (_create, f"profile.first_name: {NUL_REFUSED}"),
        (_edit_name, f"last_name: {SURROGATE_REFUSED}"),
        (_edit_field, f"name: {NUL_REFUSED}"),
        (_edit_limit, f"transaction_limit: {TOO_LARGE}"),
        (_authorize, f"user.first_name: {SURROGATE_REFUSED}"),
        (_sale_line, f"lines.description: {NUL_REFUSED}"),
        (_sale_amount, f"lines.unit_price: {TOO_LARGE}"),
        (_redeem_points, f"points: {TOO_LARGE}"),
        (_redeem_reason, f"reason: {NUL_REFUSED}"),
        (_membership, f"label: {SURROGATE_REFUSED}"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else "",
)
async def test_a_write_of_unstorable_input_is_declined_and_nothing_is_queued(
    till: Till, loopback_world: World, write: Write, refusal: str
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Bea")
    await till.sync()
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    before = till.db.read("SELECT count(*) FROM outbox")[0][0]
    cached = _cached(service, customer_id)

    answer = await write(service, customer_id)

    assert answer == Declined(refusal)
    assert till.db.read("SELECT count(*) FROM outbox")[0][0] == before
    assert _cached(service, customer_id) == cached


async def test_a_compensating_op_with_an_unstorable_payload_is_declined(
    till: Till, loopback_world: World
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Cy")
    await till.sync()
    cashier = till.service()
    await cashier.login("brand-100", CASHIER_PIN)
    assert isinstance(cashier.choose(customer_id), Identification)  # a visit op
    with till.db.write() as conn:  # as if the CRM had rejected it
        conn.execute("UPDATE outbox SET state = ?", (OpState.DEAD.value,))
    supervisor = till.service()
    await supervisor.login("brand-900", SUPERVISOR_PIN)
    [dead] = supervisor.dead_letters()
    before = till.db.read("SELECT count(*) FROM outbox")[0][0]

    answer = supervisor.compensate(dead, payload=PointsRedeem.model_construct(points=1, reason=NUL))

    assert answer == Declined(f"reason: {NUL_REFUSED}")
    assert till.db.read("SELECT count(*) FROM outbox")[0][0] == before


@pytest.mark.parametrize("reason", [NUL, SURROGATE])
async def test_an_override_reason_that_cannot_be_saved_is_refused(
    till: Till, loopback_world: World, reason: str
) -> None:
    customer_id = put_customer(loopback_world, "brand", first_name="Di")
    await till.sync()
    cashier = till.service()
    await cashier.login("brand-100", CASHIER_PIN)
    required = await cashier.redeem_points(customer_id, 10**6, "Mug")
    assert isinstance(required, OverrideRequired)

    with pytest.raises(OverrideRefused, match=r"^reason: a "):
        await cashier.approve(required, reason=reason, code="brand-900", pin=SUPERVISOR_PIN)


@pytest.mark.parametrize(
    ("code", "pin"),
    [("brand-100", "1111\x0011"), ("brand-100", "1111\ud80011"), ("brand\ud800", CASHIER_PIN)],
    ids=["nul-pin", "surrogate-pin", "surrogate-code"],
)
async def test_a_code_or_pin_no_keypad_gives_is_refused_without_counting_a_wrong_pin(
    till: Till, code: str, pin: str
) -> None:
    service = till.service()
    for _ in range(6):  # more than the wrong PINs that lock an operator
        with pytest.raises(LoginRefused) as refused:
            await service.login(code, pin)
        assert refused.value.reason is LoginRefusal.UNREADABLE

    assert (await service.login("brand-100", CASHIER_PIN)).id == "brand-cashier"


@pytest.mark.parametrize("badge", ["SUP\x00", "SUP\ud800"])
async def test_a_badge_no_card_gives_is_refused(till: Till, badge: str) -> None:
    with pytest.raises(LoginRefused) as refused:
        await till.service().login_badge(badge)
    assert refused.value.reason is LoginRefusal.UNREADABLE


@pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_a_scan_or_search_no_card_gives_finds_nobody_and_records_no_visit(
    till: Till, text: str
) -> None:
    service = till.service()
    await service.login("brand-100", CASHIER_PIN)
    before = till.db.read("SELECT count(*) FROM outbox")[0][0]

    assert await service.identify(IdentifierKind.BARCODE, text) == NotFound(UNREADABLE)
    assert await service.identify_typed(text) == NotFound(UNREADABLE)
    assert await service.search(text) == []
    assert till.db.read("SELECT count(*) FROM outbox")[0][0] == before
