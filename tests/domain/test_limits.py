"""The limit check names the limit a charge breaks and by how much; points follow the category."""

import pytest

from tillcrm.domain import (
    ChargeContext,
    LimitKind,
    PromotionCategory,
    check_limits,
    credit_limit_for,
    points_earned,
)


def kinds(charge: ChargeContext) -> dict[LimitKind, int]:
    return {breach.kind: breach.excess for breach in check_limits(charge)}


def test_charge_within_every_limit_passes() -> None:
    charge = ChargeContext(
        amount=1_000,
        transaction_limit=1_000,
        credit_limit=5_000,
        credit_owed=4_000,
        balance=1_000,
        per_event_limit=3_000,
        event_used=2_000,
        per_season_limit=10_000,
        season_used=9_000,
    )
    assert check_limits(charge) == []


@pytest.mark.parametrize(
    ("charge", "kind", "excess"),
    [
        (ChargeContext(amount=1_001, transaction_limit=1_000), LimitKind.TRANSACTION, 1),
        (
            ChargeContext(amount=500, transaction_limit=1_000, transaction_charged=800),
            LimitKind.TRANSACTION,
            300,
        ),
        (ChargeContext(amount=600, credit_limit=5_000, credit_owed=4_500), LimitKind.CREDIT, 100),
        (ChargeContext(amount=1_500, balance=1_000), LimitKind.BALANCE, 500),
        (
            ChargeContext(amount=1_200, per_event_limit=3_000, event_used=2_000),
            LimitKind.PER_EVENT,
            200,
        ),
        (
            ChargeContext(amount=1_200, per_season_limit=10_000, season_used=9_000),
            LimitKind.PER_SEASON,
            200,
        ),
    ],
)
def test_breach_names_the_limit_and_the_excess(
    charge: ChargeContext, kind: LimitKind, excess: int
) -> None:
    assert kinds(charge) == {kind: excess}


def test_every_broken_limit_is_reported() -> None:
    charge = ChargeContext(
        amount=2_000,
        customer_active=False,
        transaction_limit=1_000,
        per_event_limit=1_500,
    )
    assert kinds(charge) == {
        LimitKind.INACTIVE: 2_000,
        LimitKind.TRANSACTION: 1_000,
        LimitKind.PER_EVENT: 500,
    }


@pytest.mark.parametrize("amount", [0, -5])
def test_a_charge_must_be_positive(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        check_limits(ChargeContext(amount=amount))


def test_breach_reads_as_one_line() -> None:
    (breach,) = check_limits(ChargeContext(amount=1_050, per_event_limit=1_000))
    assert breach.describe() == "per_event limit 1000 exceeded by 50"


GOLD = PromotionCategory(id="gold", name="Gold", points_per_unit=3, credit_limit=20_000)


@pytest.mark.parametrize(
    ("amount", "currency", "category", "enabled", "expected"),
    [
        (1_999, "USD", None, True, 19),  # one point per whole dollar, cents dropped
        (1_999, "USD", GOLD, True, 57),
        (1_999, "USD", GOLD, False, 0),  # loyalty disabled
        (-500, "USD", GOLD, True, 0),  # refunds earn nothing here
        (1_999, "JPY", None, True, 1_999),  # no minor units in yen
        (12_345, "KWD", None, True, 12),  # three minor digits
    ],
)
def test_points_earned_follow_category_and_currency(
    amount: int, currency: str, category: PromotionCategory | None, enabled: bool, expected: int
) -> None:
    assert points_earned(amount, currency, category, loyalty_enabled=enabled) == expected


def test_credit_limit_comes_from_customer_else_category() -> None:
    assert credit_limit_for(5_000, GOLD) == 5_000
    assert credit_limit_for(0, GOLD) == 20_000
    assert credit_limit_for(0, None) == 0
