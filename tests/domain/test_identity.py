"""Phones, card masking, PINs and override approval."""

import uuid

import pytest

from tillcrm.domain import (
    BoundAction,
    InvalidPhoneError,
    LimitKind,
    Operator,
    OverrideApproval,
    OverrideRefusal,
    Role,
    check_approver,
    looks_like_pan,
    mask_license,
    mask_pan,
    mask_tail,
    normalize_phone,
    reversed_digits,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phone_normalizes_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "hello", "12"])
def test_bad_phone_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneError):
        normalize_phone(raw)


def test_reversed_digits_support_last_digit_lookup() -> None:
    assert reversed_digits("+14155550123").startswith("3210")


def test_pan_is_recognised_and_masked_to_first6_last4() -> None:
    assert looks_like_pan("4111111111111111")
    assert not looks_like_pan("4111111111111112")  # Luhn fails
    assert not looks_like_pan("123456")
    assert mask_pan("4111111111111111") == "411111******1111"
    assert mask_tail("6035550012345678") == "************5678"
    assert mask_license("D1234567") == "*****567"


CASHIER = Operator(id="c1", code="100", name="Cass", pin_hash="x")
SUPERVISOR = Operator(id="s1", code="900", name="Sue", role=Role.SUPERVISOR, pin_hash="x")


def test_a_cashier_cannot_approve_their_own_action() -> None:
    own = SUPERVISOR  # a supervisor ringing up a sale is the acting cashier
    assert check_approver(own, cashier_id="s1", reason="vip") is OverrideRefusal.SELF_APPROVAL
    assert check_approver(CASHIER, "c2", "vip") is OverrideRefusal.NOT_SUPERVISOR
    assert check_approver(SUPERVISOR, "c1", "  ") is OverrideRefusal.NO_REASON
    assert check_approver(SUPERVISOR, "c1", "regular guest") is None


def test_an_override_covers_only_its_one_action() -> None:
    customer = uuid.uuid4()
    approval = OverrideApproval(
        approval_id=uuid.uuid4(),
        supervisor_id="s1",
        cashier_id="c1",
        reason="season ticket holder",
        action=BoundAction(
            customer_id=customer,
            kind="stored_value_charge",
            amount=5_000,
            limits=frozenset({LimitKind.PER_EVENT}),
        ),
    )
    assert approval.covers(customer, "stored_value_charge", 5_000, {LimitKind.PER_EVENT})
    assert not approval.covers(customer, "stored_value_charge", 5_001, {LimitKind.PER_EVENT})
    assert not approval.covers(uuid.uuid4(), "stored_value_charge", 5_000, {LimitKind.PER_EVENT})
    assert not approval.covers(customer, "points_redeem", 5_000, {LimitKind.PER_EVENT})
    assert not approval.covers(
        customer, "stored_value_charge", 5_000, {LimitKind.PER_EVENT, LimitKind.PER_SEASON}
    )
