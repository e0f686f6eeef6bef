"""Ids made where the record is made (till or CRM), so nothing waits for a server to name it.

UUIDv7: time-ordered, so ops, customers and keys made one after another sort and index in
the order they were made.
"""

from __future__ import annotations

from uuid import UUID

import uuid6

__all__ = ["new_id"]


def new_id() -> UUID:
    """A new UUIDv7, as the standard library's `UUID` every model and table expects."""
    return UUID(str(uuid6.uuid7()))
