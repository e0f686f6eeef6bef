"""Keyrings for tests: an in-memory backend (CI machines have no OS keyring, and tests must not
touch a developer's real one) and no backend at all (a headless box)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as FailKeyring


class MemoryKeyring(KeyringBackend):
    """Passwords in a dict, for the life of one test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@contextmanager
def _using(backend: KeyringBackend) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@contextmanager
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Use a fresh in-memory keyring until the block ends."""
    backend = MemoryKeyring()
    with _using(backend):
        yield backend


@contextmanager
def no_keyring() -> Iterator[None]:
    """Behave like a machine with no keyring backend until the block ends."""
    with _using(FailKeyring()):
        yield
