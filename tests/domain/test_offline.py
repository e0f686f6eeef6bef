"""The offline money policy at and just past each boundary: balance age, both caps, projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tillcrm.domain import LimitKind
from tillcrm.domain.offline import (
    OfflineCaps,
    OfflineDebit,
    OfflineRule,
    check_offline_debit,
)

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
CAPS = OfflineCaps(
    max_balance_age=timedelta(hours=24), per_transaction_cap=5_000, per_till_cap=8_000
)


def debit(**changes: object) -> OfflineDebit:
    fields: dict[str, object] = {
        "amount": 1_000,
        "cached_balance": 10_000,
        "balance_read_at": NOW - timedelta(hours=1),
        "pending_till_debits": 0,
        "now": NOW,
    }
    fields.update(changes)
    return OfflineDebit.model_validate(fields)


def rules(d: OfflineDebit) -> dict[OfflineRule, int]:
    return {breach.rule: breach.excess for breach in check_offline_debit(d, CAPS)}


def test_a_debit_within_every_rule_is_allowed() -> None:
    assert check_offline_debit(debit(), CAPS) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"balance_read_at": NOW - timedelta(hours=24) + timedelta(seconds=1)}, {}),
        ({"balance_read_at": NOW - timedelta(hours=24)}, {OfflineRule.STALE_BALANCE: 1}),
        ({"balance_read_at": NOW - timedelta(hours=25)}, {OfflineRule.STALE_BALANCE: 3600}),
        ({"balance_read_at": None, "cached_balance": None}, None),
        ({"amount": 5_000}, {}),
        ({"amount": 5_001}, {OfflineRule.TRANSACTION_CAP: 1}),
        ({"pending_till_debits": 7_000}, {}),
        ({"pending_till_debits": 7_001}, {OfflineRule.TILL_CAP: 1}),
        ({"cached_balance": 1_000}, {}),
        ({"cached_balance": 999}, {OfflineRule.PROJECTED_BALANCE: 1}),
    ],
)
def test_each_boundary(changes: dict[str, object], expected: dict[OfflineRule, int] | None) -> None:
    found = rules(debit(**changes))
    if expected is None:
        assert set(found) == {OfflineRule.STALE_BALANCE, OfflineRule.PROJECTED_BALANCE}
    else:
        assert found == expected


def test_breaches_are_limits_a_supervisor_can_override() -> None:
    breaches = check_offline_debit(debit(amount=6_000, cached_balance=5_500), CAPS)
    assert {(b.kind, b.rule) for b in breaches} == {
        (LimitKind.OFFLINE, OfflineRule.TRANSACTION_CAP),
        (LimitKind.BALANCE, OfflineRule.PROJECTED_BALANCE),
    }
    assert "transaction cap 5000 exceeded by 1000" in breaches[0].describe()


def test_a_stale_balance_says_so_in_hours() -> None:
    (breach,) = check_offline_debit(debit(balance_read_at=NOW - timedelta(days=2)), CAPS)
    assert breach.describe() == "offline: the cached balance is older than 24 h"


def test_a_debit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        check_offline_debit(debit(amount=0), CAPS)
