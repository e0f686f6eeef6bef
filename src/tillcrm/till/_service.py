"""`TillService`: the one facade the till's UI calls.

Reads come from the local cache first; the CRM is asked only on a miss or to refresh, always
under an explicit time budget and behind a circuit breaker, so a dead CRM costs the cashier
at most one short wait and identifying from the cache never waits for the network at all.
Every write is one local transaction (the cache change and its outbox op, with its audit row
when a supervisor approved it) and the answer comes only after COMMIT. Business outcomes
(limits, declines, conflicts) are typed answers, not exceptions.

The facade is assembled from one part per purpose, each in its own module.
"""

from __future__ import annotations

from tillcrm.till._charging import Charging
from tillcrm.till._editing import CustomerEditing
from tillcrm.till._lookup import CustomerLookup
from tillcrm.till._org import OrgAccess
from tillcrm.till._queue import QueueWork
from tillcrm.till._receipts import Receipts
from tillcrm.till._wallet import WalletAccess

__all__ = ["TillService"]


class TillService(
    CustomerLookup, Charging, OrgAccess, CustomerEditing, WalletAccess, QueueWork, Receipts
):
    """Everything a till screen can ask for or do, for the operator logged in here."""
