"""The till's one facade for its UI: `TillService`, and the typed answers it gives.

Nothing here imports Textual; the TUI runs these methods in workers.
"""

from tillcrm.local import LoginRefusal, LoginRefused, OutboxEntry
from tillcrm.till._history import QuickRange, quick_range
from tillcrm.till._org import OrgProfile, org_profile
from tillcrm.till._overrides import OverrideRefused
from tillcrm.till._results import (
    Ambiguous,
    BalanceInquiry,
    Declined,
    EditConflict,
    Identification,
    NotFound,
    Offline,
    OverrideRequired,
    RegisterHere,
    Saved,
)
from tillcrm.till._service import TillService
from tillcrm.till._session import NotLoggedIn

__all__ = [
    "Ambiguous",
    "BalanceInquiry",
    "Declined",
    "EditConflict",
    "Identification",
    "LoginRefusal",
    "LoginRefused",
    "NotFound",
    "NotLoggedIn",
    "Offline",
    "OrgProfile",
    "OutboxEntry",
    "OverrideRefused",
    "OverrideRequired",
    "QuickRange",
    "RegisterHere",
    "Saved",
    "TillService",
    "org_profile",
    "quick_range",
]
