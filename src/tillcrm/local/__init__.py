"""The till's own SQLite database: customer cache and search, durable outbox, audit, meta.

Every write is one `BEGIN IMMEDIATE` transaction; the UI may say "saved" only after it commits.
Only one till process may write (a lock file), so the outbox's seq stays gap-free.
"""

from tillcrm.local import bulk_load
from tillcrm.local.audit import AuditLog, AuditRecord
from tillcrm.local.cache import (
    STORE_CREDIT_OWED,
    STORED_VALUE,
    CachedBalance,
    CustomerCache,
    CustomerPage,
    phone_shape,
    points_account,
)
from tillcrm.local.db import SCHEMA_VERSION, TillDatabase, open_database
from tillcrm.local.lock import TillLock, TillLockedError
from tillcrm.local.meta import Meta, SeqStop
from tillcrm.local.operators import LoginRefusal, LoginRefused, OperatorStore, PinPolicy
from tillcrm.local.outbox import (
    NOT_STOPPED,
    Batch,
    OfflineDebits,
    OpState,
    Outbox,
    OutboxEntry,
    QueueHead,
)

__all__ = [
    "NOT_STOPPED",
    "SCHEMA_VERSION",
    "STORED_VALUE",
    "STORE_CREDIT_OWED",
    "AuditLog",
    "AuditRecord",
    "Batch",
    "CachedBalance",
    "CustomerCache",
    "CustomerPage",
    "LoginRefusal",
    "LoginRefused",
    "Meta",
    "OfflineDebits",
    "OpState",
    "OperatorStore",
    "Outbox",
    "OutboxEntry",
    "PinPolicy",
    "QueueHead",
    "SeqStop",
    "TillDatabase",
    "TillLock",
    "TillLockedError",
    "bulk_load",
    "open_database",
    "phone_shape",
    "points_account",
]
