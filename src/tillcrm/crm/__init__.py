"""The till's client for the CRM's HTTP API v1: typed calls, typed errors, the token store."""

from tillcrm.crm._client import CrmClient, Health, PulledPage
from tillcrm.crm._errors import (
    CrmConflict,
    CrmError,
    CrmGone,
    CrmLocked,
    CrmNotFound,
    CrmRejected,
    CrmUnauthorized,
    CrmUnavailable,
)
from tillcrm.crm._token import (
    KEYRING_SERVICE,
    TOKEN_ENV,
    NoTokenError,
    keyring_problem,
    load_token,
    store_token,
)

__all__ = [
    "KEYRING_SERVICE",
    "TOKEN_ENV",
    "CrmClient",
    "CrmConflict",
    "CrmError",
    "CrmGone",
    "CrmLocked",
    "CrmNotFound",
    "CrmRejected",
    "CrmUnauthorized",
    "CrmUnavailable",
    "Health",
    "NoTokenError",
    "PulledPage",
    "keyring_problem",
    "load_token",
    "store_token",
]
