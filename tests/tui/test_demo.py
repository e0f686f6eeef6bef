"""`tillcrm demo` as a person runs it: in a terminal, it asks which store to be, starts the CRM,
the readers and the till, shows the login screen, and Ctrl+C stops all of it and removes its
folder; and its card keys, which present the demo cards to the simulated readers."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

from tests.support.tui import until
from tests.tui.cashier import demo_till
from textual.message import Message
from textual.notifications import Notify

from tillcrm.app import TillApp
from tillcrm.card_routing import PAYMENT_CARD_MESSAGE
from tillcrm.cli.crm import KNOWN_DEMO_CUSTOMERS
from tillcrm.cli.demo import demo_crm, demo_store
from tillcrm.config import DeviceKind
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.screens.identify import IdentifyScreen
from tillcrm.screens.profile.screen import ProfileScreen
from tillcrm.server import demo_data

_TIMEOUT = 90.0


def _read_until(fd: int, wanted: bytes, deadline: float) -> bytes:
    seen = b""
    while wanted not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {wanted!r}; last output: {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
    return seen


def _drain_until_exit(fd: int, child: subprocess.Popen[bytes], deadline: float) -> int:
    """Keep reading the terminal (a full pty would block the child) until the child exits."""
    while child.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError("the demo did not stop")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            with contextlib.suppress(OSError):
                os.read(fd, 65536)
    return child.returncode


def test_the_demo_asks_for_a_store_shows_its_login_screen_and_stops_cleanly(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
        "TMPDIR": str(tmp_path),
        "TILLCRM_CONFIG": str(tmp_path / "none.toml"),
    }
    (tmp_path / "none.toml").write_text("")
    child = subprocess.Popen(
        [sys.executable, "-c", "from tillcrm.cli import main; main()", "demo", "--customers", "50"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + _TIMEOUT
        _read_until(master, b"Riverside Arena", deadline)  # the store picker, Arena first
        os.write(master, b"\r")
        screen = _read_until(master, b"scan Maya's card", deadline)  # the card panel
        assert b"Log in" in screen
        os.write(master, b"\x03")
        assert _drain_until_exit(master, child, time.monotonic() + 30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    assert not list(tmp_path.glob("tillcrm-demo-*")), "the demo's folder was left behind"


async def test_the_demo_card_keys_present_the_cards_to_the_simulated_readers(
    tmp_path: Path, readers: dict[DeviceKind, SimulatedReader]
) -> None:
    seen: list[Message] = []
    store = demo_store(demo_data.DEMO_STORE_ID)
    with demo_crm(tmp_path / "crm.sqlite3", KNOWN_DEMO_CUSTOMERS) as crm:
        async with demo_till(crm, store, tmp_path, readers, message_hook=seen.append) as (
            app,
            pilot,
            _,
        ):
            maya = demo_data.DEMO_CUSTOMERS[0].id
            for key in ("f5", "f6", "f7"):
                await pilot.press("escape", key)
                await until(pilot, lambda: _shown(app) == maya, f"Maya's profile by {key}")
            await pilot.press("escape", "f8")
            await until(pilot, lambda: PAYMENT_CARD_MESSAGE in _notes(seen), "payment card")
            await pilot.press("f9")
            await until(pilot, lambda: len(_notes(seen)) >= 2, "the blocked card refused")
            assert _notes(seen)[-1] == "this barcode is blocked"
            assert isinstance(app.screen, IdentifyScreen)


def _shown(app: TillApp) -> UUID | None:
    screen = app.screen
    if isinstance(screen, ProfileScreen) and screen.customer is not None:
        return screen.customer.id
    return None


def _notes(seen: list[Message]) -> list[str]:
    return [str(m.notification.message) for m in seen if isinstance(m, Notify)]
