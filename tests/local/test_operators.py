"""Offline login from the cached operators: PIN, badge, wrong-PIN lockout that survives a
restart of the till."""

from __future__ import annotations

from pathlib import Path

import pytest

from tillcrm.domain import TEST_PIN_COST, Operator, Role, hash_pin, verify_pin
from tillcrm.local.db import open_database
from tillcrm.local.operators import LoginRefusal, LoginRefused, OperatorStore, PinPolicy

CASHIER = Operator(
    id="op-1", code="100", name="Cass", pin_hash=hash_pin("111111", cost=TEST_PIN_COST)
)
SUPERVISOR = Operator(
    id="op-9",
    code="900",
    name="Sue",
    role=Role.SUPERVISOR,
    pin_hash=hash_pin("999999", cost=TEST_PIN_COST),
    badge_hash=hash_pin("SUPBADGE01", cost=TEST_PIN_COST),
)
POLICY = PinPolicy(max_attempts=3, lockout_seconds=600)


def _store(path: Path) -> OperatorStore:
    return OperatorStore(open_database(path), POLICY)


def test_the_right_pin_logs_in(tmp_path: Path) -> None:
    store = _store(tmp_path / "till.sqlite3")
    store.replace_all([CASHIER, SUPERVISOR])
    assert store.check_pin(" 100 ", "111111", now=0) == CASHIER
    assert store.check_badge("SUPBADGE01") == SUPERVISOR


@pytest.mark.parametrize(
    ("code", "pin", "reason"),
    [("555", "111111", LoginRefusal.UNKNOWN), ("100", "2222", LoginRefusal.WRONG_PIN)],
)
def test_a_wrong_code_or_pin_is_refused(
    tmp_path: Path, code: str, pin: str, reason: LoginRefusal
) -> None:
    store = _store(tmp_path / "till.sqlite3")
    store.replace_all([CASHIER])
    with pytest.raises(LoginRefused) as refused:
        store.check_pin(code, pin, now=0)
    assert refused.value.reason is reason


def test_wrong_pins_lock_the_operator_even_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    store = _store(path)
    store.replace_all([CASHIER])
    for left in (2, 1):
        with pytest.raises(LoginRefused, match=f"{left} attempt"):
            store.check_pin("100", "0000", now=10)
    with pytest.raises(LoginRefused) as locked:
        store.check_pin("100", "0000", now=10)
    assert locked.value.reason is LoginRefusal.LOCKED
    assert locked.value.locked_until == 610

    restarted = _store(path)
    with pytest.raises(LoginRefused, match="locked"):
        restarted.check_pin("100", "111111", now=600)
    assert restarted.check_pin("100", "111111", now=611) == CASHIER


def test_a_right_pin_resets_the_count(tmp_path: Path) -> None:
    store = _store(tmp_path / "till.sqlite3")
    store.replace_all([CASHIER])
    for _ in range(2):
        with pytest.raises(LoginRefused):
            store.check_pin("100", "0000", now=0)
    store.check_pin("100", "111111", now=0)
    with pytest.raises(LoginRefused, match="2 attempts left"):
        store.check_pin("100", "0000", now=0)


def test_a_refresh_drops_operators_the_crm_no_longer_lists(tmp_path: Path) -> None:
    store = _store(tmp_path / "till.sqlite3")
    store.replace_all([CASHIER, SUPERVISOR])
    store.replace_all([SUPERVISOR.model_copy(update={"active": False})])
    assert store.count() == 1
    with pytest.raises(LoginRefused) as refused:
        store.check_pin("900", "999999", now=0)
    assert refused.value.reason is LoginRefusal.INACTIVE
    with pytest.raises(LoginRefused, match="badge"):
        store.check_badge("NOT-A-BADGE")


def test_a_badge_swiped_before_costs_one_scrypt_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first swipe of a badge may try every operator's badge hash; from then on (across a
    restart too) the badge's keyed hash finds its operator and scrypt runs once."""
    staff = [
        Operator(
            id=f"op-{n}",
            code=f"9{n:02d}",
            name=f"Sup {n}",
            role=Role.SUPERVISOR,
            pin_hash=hash_pin("999999", cost=TEST_PIN_COST),
            badge_hash=hash_pin(f"BADGE-{n}", cost=TEST_PIN_COST),
        )
        for n in range(8)
    ]
    checks: list[str] = []

    def counted(secret: str, encoded: str) -> bool:
        checks.append(encoded)
        return verify_pin(secret, encoded)

    monkeypatch.setattr("tillcrm.local.operators.verify_pin", counted)
    path = tmp_path / "till.sqlite3"
    store = _store(path)
    store.replace_all(staff)

    assert store.check_badge("BADGE-7") == staff[7]
    assert len(checks) == 8
    checks.clear()
    assert store.check_badge("BADGE-7") == staff[7]
    assert len(checks) == 1
    checks.clear()
    assert _store(path).check_badge("BADGE-7") == staff[7]  # the till restarted
    assert len(checks) == 1
    checks.clear()
    with pytest.raises(LoginRefused):  # an unknown badge tries only operators not yet learned
        store.check_badge("NOBODY")
    assert len(checks) == 7

    # A new badge from the CRM: the old one's learned lookup goes with its hash.
    renewed = staff[7].model_copy(
        update={"badge_hash": hash_pin("BADGE-7-NEW", cost=TEST_PIN_COST)}
    )
    store.replace_all([*staff[:7], renewed])
    with pytest.raises(LoginRefused):
        store.check_badge("BADGE-7")
    assert store.check_badge("BADGE-7-NEW") == renewed
