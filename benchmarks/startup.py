"""Cold start of the till, as a ratio to a bare Textual app, both in a real pseudo-terminal.

The till is the real `tillcrm` command (no sub-command: the production till) with a config
file, a registered till (token from `TILLCRM_TOKEN`), its cache filled and its context kept
from an earlier run, and the CRM down. The bare app is a fresh interpreter running a Textual
app with a header, an input and a table. Each runs in its own 100x30 pty; the clock starts
when the process is started and stops when the terminal has received the screen a person
uses, read from the bytes the app wrote (escape sequences removed): the bare app's input, the
till's login form. Then the benchmark types the cashier's code and PIN as a person would
(a key every 60 ms) and times the identify screen from the PIN's Enter, and from the start
(the till opens behind its login form, so a quick cashier's Enter may wait for it).

The ratio the design targets (< 1.5) is the till's login screen against the bare app:
that is the screen the cashier starts on. Medians of `--starts` runs.

    .venv/bin/python benchmarks/startup.py [--starts N]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from _tui import CASHIER, CONTEXT, PIN, SIZE, dead_crm_url, fill

RATIO_TARGET = 1.5
_TIMEOUT_S = 60.0
_KEY_GAP_S = 0.06
"""Seconds between two typed keys: a quick person, slower than a keyboard-wedge scanner."""
_ESCAPES = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")

_BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Header, Input

class Bare(App):
    def compose(self):
        yield Header()
        yield Input(placeholder="Search customers")
        yield DataTable()

Bare().run()
"""
_BARE_READY = b"Search customers"
_LOGIN_READY = b"Operator code"
_IDENTIFY_READY = b"Phone, name, email or customer number"


class Terminal:
    """A process in a pseudo-terminal of `SIZE`, and the text it has drawn so far."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        columns, rows = SIZE
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self._raw = b""

    def wait_for(self, text: bytes) -> float:
        """Read until `text` has been drawn; the moment it was (perf_counter seconds)."""
        deadline = time.perf_counter() + _TIMEOUT_S
        while text not in _ESCAPES.sub(b"", self._raw):
            if time.perf_counter() > deadline or self.process.poll() is not None:
                shown = _ESCAPES.sub(b"", self._raw).decode(errors="replace")[-800:]
                raise RuntimeError(f"never drew {text!r}; the terminal shows: {shown}")
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self._raw += os.read(self.master, 65536)
                except OSError:  # the process ended
                    continue
        return time.perf_counter()

    def type(self, text: str) -> None:
        """Type `text` a key at a time; the output keeps being read meanwhile."""
        for char in text:
            os.write(self.master, char.encode())
            self._drain(_KEY_GAP_S)

    def _drain(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self._raw += os.read(self.master, 65536)
                except OSError:
                    return

    def close(self) -> None:
        """End the process (Textual restores the terminal) and close the pty."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILLCRM_")}
    env.update(TERM="xterm-256color", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]), **extra)
    return env


def bare_start() -> float:
    """Seconds from starting the bare app to its input drawn."""
    terminal = Terminal([sys.executable, "-c", _BARE_APP], _env())
    try:
        return terminal.wait_for(_BARE_READY) - terminal.started
    finally:
        terminal.close()


def till_start(config: Path) -> tuple[float, float, float]:
    """Seconds from starting `tillcrm` to its login form drawn, from the PIN's Enter to the
    identify screen drawn, and from starting `tillcrm` to the identify screen drawn."""
    tillcrm = shutil.which("tillcrm", path=str(Path(sys.executable).parent))
    assert tillcrm is not None, "tillcrm is not installed in this interpreter's environment"
    terminal = Terminal(
        [tillcrm, "--config", str(config)],
        _env(TILLCRM_TOKEN="bench-offline-token"),  # noqa: S106 (nobody checks it: the CRM is down)
    )
    try:
        login = terminal.wait_for(_LOGIN_READY) - terminal.started
        terminal.type(f"{CASHIER}\r{PIN}")
        entered = time.perf_counter()
        terminal.type("\r")
        identified = terminal.wait_for(_IDENTIFY_READY)
        return login, identified - entered, identified - terminal.started
    finally:
        terminal.close()


def till_config(folder: Path) -> Path:
    """A registered till whose CRM is down, its cache and context from an earlier run."""
    from tillcrm.cli._till import TILL_DB_NAME
    from tillcrm.cli.run import CONTEXT_FILE

    data = folder / "data"
    data.mkdir()
    fill(data / TILL_DB_NAME, 100)
    (data / CONTEXT_FILE).write_text(CONTEXT.model_dump_json())
    config = folder / "config.toml"
    config.write_text(
        f'data_dir = "{data}"\n'
        f'[till]\nid = "{CONTEXT.till_id}"\nname = "{CONTEXT.till_name}"\n'
        f'[crm]\nurl = "{dead_crm_url()}"\nconnect_timeout = 1.0\n'
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()
    bare, login, identify, start_to_identify = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        config = till_config(Path(tmp))
        for _ in range(args.starts):
            bare.append(bare_start())
            to_login, to_identify, since_start = till_start(config)
            login.append(to_login)
            identify.append(to_identify)
            start_to_identify.append(since_start)
    bare_s, login_s = statistics.median(bare), statistics.median(login)
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "runs": args.starts,
                "terminal": f"{SIZE[0]}x{SIZE[1]}",
                "bare_textual_median_s": round(bare_s, 3),
                "till_to_login_median_s": round(login_s, 3),
                "ratio": round(login_s / bare_s, 2),
                "ratio_target": RATIO_TARGET,
                "met": login_s / bare_s < RATIO_TARGET,
                "pin_enter_to_identify_median_s": round(statistics.median(identify), 3),
                "start_to_identify_median_s": round(statistics.median(start_to_identify), 3),
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
