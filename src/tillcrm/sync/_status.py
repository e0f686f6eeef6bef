"""What the till shows about sync: the cashier's "offline, 12 queued" and the supervisor's view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["PullProgress", "SyncStatus"]


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of the sync engine, published whenever it changes."""

    online: bool
    """The last call to the CRM succeeded."""
    authorized: bool
    """False after a 401: pushing stops until the till is registered again."""
    queue_depth: int
    """Ops saved on the till and not yet acknowledged by the CRM."""
    oldest_pending_seconds: float | None
    """Age of the oldest unacknowledged op; None when the queue is empty."""
    dead: int
    """Ops the CRM rejected: a supervisor must compensate them."""
    needs_review: int
    """Ops the CRM applied but flagged (an offline overdraft)."""
    last_push_at: datetime | None
    last_pull_at: datetime | None
    problem: str = ""
    """The last failure, as a sentence for the screen; empty when all is well."""
    blocking: str = ""
    """Why the queue is not draining (its oldest op's last failure, or the CRM taking none of
    a push), as a sentence; empty while it drains. Kept until a push gets past it: a pull
    that succeeds meanwhile does not clear it."""

    @property
    def label(self) -> str:
        """The status bar's word for it."""
        if not self.authorized:
            return "till not authorized"
        return "online" if self.online else "offline"


@dataclass(frozen=True)
class PullProgress:
    """How far a full pull (a till's first sync) is: reported once the CRM has said how many
    customers the scope holds, after each page stored, and once more when the pull ends."""

    done: int
    """Customers stored so far."""
    total: int
    """Customers in the till's scope, as the CRM counted them when the pull began."""
    seconds: float
    """Since the pull began."""
    finished: bool = False
    """The pull ended: every page stored, or stopped by a failure (the next round goes on
    from the cursor of the last page stored)."""

    @property
    def rate(self) -> float | None:
        """Customers stored per second; None before the first page."""
        return self.done / self.seconds if self.done and self.seconds > 0 else None
