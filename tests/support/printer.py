"""A receipt printer on a real pseudo-terminal, for the printer's device and Pilot tests."""

from __future__ import annotations

import os
import threading
import tty

__all__ = ["CUT", "PAPER_OK", "PAPER_OUT", "PAPER_QUERY", "PtyPrinter"]

PAPER_QUERY = b"\x10\x04\x04"
"""DLE EOT 4: the paper sensor's status."""
PAPER_OK = b"\x12"
PAPER_OUT = b"\x72"
CUT = b"\x1dV\x00"
"""GS V 0: a full cut, the end of a receipt."""


class PtyPrinter:
    """The printer end of a pseudo-terminal: answers DLE EOT 4 with `paper` and keeps what it
    is sent until the cut."""

    def __init__(self, paper: bytes) -> None:
        self._master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self._paper = paper
        self.received = b""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        answered = 0
        while CUT not in self.received:
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                break
            self.received += chunk
            while self.received.count(PAPER_QUERY) > answered:
                os.write(self._master, self._paper)
                answered += 1
        self._done.set()

    def job(self) -> bytes:
        """Everything received, once the cut arrived."""
        assert self._done.wait(5), f"no cut; received {self.received!r}"
        return self.received

    def close(self) -> None:
        os.close(self._slave)
        os.close(self._master)
