"""Op appliers: every write to a customer, whether pushed by a till or made through a REST path,
is applied by exactly one function registered here, inside one transaction."""

from tillcrm.server.ops import accounts, customers, sales, visits  # register their appliers
from tillcrm.server.ops.registry import (
    APPLIERS,
    Applier,
    Conflict,
    OpContext,
    Outcome,
    answer_again,
    applies,
    execute_op,
    lock_customers,
    payload_hash,
    stored_result,
    touch_customer,
    visible_customer,
)

__all__ = [
    "APPLIERS",
    "Applier",
    "Conflict",
    "OpContext",
    "Outcome",
    "accounts",
    "answer_again",
    "applies",
    "customers",
    "execute_op",
    "lock_customers",
    "payload_hash",
    "sales",
    "stored_result",
    "touch_customer",
    "visible_customer",
    "visits",
]
