"""The sync engine: push the outbox to the CRM exactly once, pull the scope into the cache."""

from tillcrm.sync._backoff import retry_delay
from tillcrm.sync._breaker import CircuitBreaker

__all__ = ["CircuitBreaker", "retry_delay"]
