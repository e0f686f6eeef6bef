"""`tillcrm devices ...` against simulated readers: `test NAME` prints one JSON line per event from
another process, `simulate` drives a pty from its stdin, `list` describes serial ports."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner
from serial.tools.list_ports_common import ListPortInfo

from tests.support.devices import WAIT, EventLog, reading
from tillcrm.cli import main
from tillcrm.cli.devices import describe_port
from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.events import Identified, LinkState
from tillcrm.devices.reader import open_port
from tillcrm.devices.simulator import SimulatedReader
from tillcrm.domain import IdentifierKind

TILLCRM = str(Path(sys.executable).with_name("tillcrm"))


class Lines:
    """The stdout of a running command, line by line, without ever blocking a test for long."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def next(self) -> str:
        try:
            return self._queue.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("the command printed nothing more") from None

    def until(self, match: Callable[[str], bool]) -> str:
        while not match(line := self.next()):
            pass
        return line


def _config(tmp_path: Path, *devices: DeviceSettings) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "".join(
            f'[[devices]]\nname = "{d.name}"\nkind = "{d.kind}"\nurl = "{d.url}"\n' for d in devices
        )
    )
    return path


@pytest.fixture
def run() -> Iterator[Callable[..., tuple[subprocess.Popen[str], Lines]]]:
    """Starts `tillcrm ARGS...`; interrupted (Ctrl-C) at the end if still running."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], Lines]:
        process = subprocess.Popen(
            [TILLCRM, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        return process, Lines(process.stdout)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_devices_test_prints_one_json_line_per_event(
    tmp_path: Path, run: Callable[..., tuple[subprocess.Popen[str], Lines]]
) -> None:
    with SimulatedReader.open("magstripe", name="msr") as sim:
        process, lines = run(
            "--config", str(_config(tmp_path, sim.settings())), "devices", "test", "msr"
        )
        assert json.loads(lines.next()) == {
            "event": "status",
            "source": "msr",
            "state": "connected",
            "detail": f"port {sim.port} open",
        }
        sim.swipe(track2="6001234567")
        assert json.loads(lines.next()) == {
            "event": "identified",
            "kind": "magstripe",
            "value": "6001234567",
            "source": "msr",
            "symbology": None,
        }
        sim.swipe(track1="B4111111111111111^DOE/JOHN^2512101", track2="4111111111111111=2512101")
        assert json.loads(lines.next()) == {
            "event": "rejected",
            "reason": "payment_card",
            "source": "msr",
            "masked": "411111******1111",
            "detail": "payment card, not a loyalty card",
        }
        process.send_signal(signal.SIGINT)
        # Its exit and stderr first, so a run that ends without its last line says why.
        returncode = process.wait(timeout=WAIT)
        assert process.stderr is not None
        err = process.stderr.read()
        assert returncode == 0, err
        assert json.loads(lines.next())["detail"] == "stopped", err
    assert "4111111111111111" not in err


def test_a_second_process_on_a_held_port_is_told_which_port(
    tmp_path: Path, run: Callable[..., tuple[subprocess.Popen[str], Lines]]
) -> None:
    with SimulatedReader.open("barcode", name="scanner") as sim:
        held = open_port(sim.settings())
        try:
            _, lines = run(
                "--config", str(_config(tmp_path, sim.settings())), "devices", "test", "scanner"
            )
            error = json.loads(lines.next())
        finally:
            held.close()
        assert error == {
            "event": "status",
            "source": "scanner",
            "state": "error",
            "detail": f"port {sim.port} is in use by another program (another tillcrm till?)",
        }
        lines.until(lambda line: json.loads(line)["state"] == "connected")


def test_devices_test_names_the_configured_devices_when_name_is_unknown(tmp_path: Path) -> None:
    device = DeviceSettings(name="scanner", kind=DeviceKind.BARCODE, url="/dev/ttyACM0")
    result = CliRunner().invoke(
        main, ["--config", str(_config(tmp_path, device)), "devices", "test", "msr"]
    )
    assert result.exit_code == 2
    assert "no device named 'msr' in the config (configured: scanner)" in result.output


def test_simulate_drives_a_pty_from_stdin(
    events: EventLog, run: Callable[..., tuple[subprocess.Popen[str], Lines]]
) -> None:
    process, lines = run("devices", "simulate", "--kind", "barcode", "--kind", "contactless")
    paths = {}
    for _ in range(2):
        _, kind, _, _, path = lines.next().split(" ")
        paths[kind] = path
    assert process.stdin is not None
    device = DeviceSettings(
        name="sim-barcode", kind=DeviceKind.BARCODE, url=paths["barcode"], aim_prefix=True
    )
    with reading(events, device):
        process.stdin.write("scan 4006381333931\n")
        process.stdin.flush()
        assert lines.until(lambda line: line == "ok" or line.startswith("error")) == "ok"
        assert events.next_read() == Identified(
            IdentifierKind.BARCODE, "4006381333931", "sim-barcode", "]E0"
        )
        process.stdin.write("unplug barcode\n")
        process.stdin.flush()
        events.status(LinkState.DISCONNECTED)
        process.stdin.write("quit\n")
        process.stdin.flush()
        process.wait(timeout=WAIT)
    assert process.returncode == 0
    assert not Path(paths["contactless"]).exists()


def test_simulate_explains_commands_it_cannot_do() -> None:
    commands = [
        "bogus",
        "scan 96385074",
        "tap 62E3086CED",
        "swipe track9=1",
        "swipe 6001234567",
        "unplug barcode",
        "scan 1",
        "quit",
        "scan 2",
    ]
    args = ["devices", "simulate", "--kind", "barcode"]
    result = CliRunner().invoke(main, args, input="\n".join(commands))
    assert result.exit_code == 0, result.output
    replies = result.output.splitlines()[-7:]
    assert replies == [
        "error: unknown command 'bogus' (try help)",
        "ok",
        "error: no simulated contactless reader (start it with --kind contactless)",
        "error: swipe takes track1=..., track2=..., track3=...",
        "error: no simulated magstripe reader (start it with --kind magstripe)",
        "ok",
        "error: simulated reader sim-barcode is unplugged",
    ]
    assert 'url = "' in result.output


def test_devices_list_runs() -> None:
    result = CliRunner().invoke(main, ["devices", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_a_usb_port_is_described_with_its_ids() -> None:
    port = ListPortInfo("/dev/ttyUSB0")
    port.vid, port.pid, port.serial_number = 0x0801, 0x0002, "MT1234"
    port.description = "MagTek USB Swipe Reader"
    assert describe_port(port) == "/dev/ttyUSB0  0801:0002  MT1234  MagTek USB Swipe Reader"
    assert describe_port(ListPortInfo("/dev/ttyS0")) == "/dev/ttyS0  -  -"
