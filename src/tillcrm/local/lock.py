"""One till process per data folder: a second one is refused with a clear message.

Two processes appending to one outbox could hand out the same seq, and the CRM would take the
second op for a resend of the first. An advisory lock on a file beside the database prevents
that; the kernel releases it when the process dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

__all__ = ["TillLock", "TillLockedError"]


class TillLockedError(RuntimeError):
    """Another till process holds the data folder."""


class TillLock:
    """An exclusive, non-blocking lock on `<data_dir>/till.lock`, holding the owner's pid."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "till.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `TillLockedError` naming the folder and the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise TillLockedError(
                f"another tillcrm till (pid {holder}) is using {self.path.parent}; "
                "close it first, or give this one its own data_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (also happens when the process exits)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> TillLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
