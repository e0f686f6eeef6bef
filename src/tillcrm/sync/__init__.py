"""The sync engine: push the outbox to the CRM exactly once, pull the scope into the cache."""

from tillcrm.sync._backoff import retry_delay
from tillcrm.sync._breaker import CircuitBreaker
from tillcrm.sync._engine import NOT_AUTHORIZED, SyncEngine
from tillcrm.sync._status import PullProgress, SyncStatus

__all__ = [
    "NOT_AUTHORIZED",
    "CircuitBreaker",
    "PullProgress",
    "SyncEngine",
    "SyncStatus",
    "retry_delay",
]
