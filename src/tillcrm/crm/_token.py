"""Where the till's bearer token lives: the OS keyring, or `TILLCRM_TOKEN` for services.

The token is never written to the config file (DESIGN.md, sync protocol). On a headless Linux
box without a keyring backend the error says how to fix it rather than failing obscurely.
"""

from __future__ import annotations

import os

import keyring
import keyring.errors

__all__ = [
    "KEYRING_SERVICE",
    "TOKEN_ENV",
    "NoTokenError",
    "keyring_problem",
    "load_token",
    "store_token",
]

KEYRING_SERVICE = "tillcrm"
TOKEN_ENV = "TILLCRM_TOKEN"  # noqa: S105 (the variable's name, not a secret)

_NO_BACKEND_FIX = (
    "no working keyring backend on this machine: install and select one "
    "(for example `pip install keyrings.alt` and set PYTHON_KEYRING_BACKEND="
    "keyrings.alt.file.PlaintextKeyring), or set the till's token in the "
    f"{TOKEN_ENV} environment variable"
)


class NoTokenError(Exception):
    """The till has no usable token; the message names the fix."""


def load_token(till_id: str) -> str:
    """The till's token: `TILLCRM_TOKEN` if set, else the keyring entry for `till_id`."""
    if token := os.environ.get(TOKEN_ENV, "").strip():
        return token
    if not till_id:
        raise NoTokenError("this till is not registered: run `tillcrm register`")
    try:
        stored = keyring.get_password(KEYRING_SERVICE, till_id)
    except keyring.errors.KeyringError as exc:
        raise NoTokenError(_NO_BACKEND_FIX) from exc
    if not stored:
        raise NoTokenError(
            f"no token for till {till_id} in the keyring: run `tillcrm register` again, "
            f"or set {TOKEN_ENV}"
        )
    return stored


def store_token(till_id: str, token: str) -> None:
    """Keep the token in the keyring; raises `NoTokenError` naming the fix when it cannot."""
    try:
        keyring.set_password(KEYRING_SERVICE, till_id, token)
    except keyring.errors.KeyringError as exc:
        raise NoTokenError(_NO_BACKEND_FIX) from exc


def keyring_problem() -> str | None:
    """Why the keyring cannot hold a token here (naming the fix), or None when it can."""
    try:
        keyring.get_password(KEYRING_SERVICE, "tillcrm-probe")
    except keyring.errors.KeyringError:
        return _NO_BACKEND_FIX
    return None
