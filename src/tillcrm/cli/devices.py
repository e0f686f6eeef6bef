"""`tillcrm devices ...`: find serial ports, watch a configured reader, run simulated readers.

An installer uses `list` to find the port of a new reader, `test NAME` to see what the till will
make of each card before opening the till, and `simulate` to try it all without hardware.
"""

from __future__ import annotations

import json
import queue
import shlex
import sys
from contextlib import ExitStack
from typing import cast

import click
import tomlkit
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.config import DeviceKind
from tillcrm.devices.contactless import ByteOrder
from tillcrm.devices.events import DeviceEvent, event_json
from tillcrm.devices.framing import Terminator
from tillcrm.devices.manager import DeviceManager
from tillcrm.devices.simulator import (
    ContactlessFormat,
    SimulatedReader,
    SimulatorError,
    SwipeFraming,
)

__all__ = ["describe_port", "devices"]

_SIMULATE_HELP = """\
commands (one a line; Ctrl-D or `quit` ends):
  scan CODE                      a barcode, e.g. scan 4006381333931
  swipe TRACK2                   a card whose track 2 is TRACK2, e.g. swipe 6001234567
  swipe track1=... track2=... track3=...   any tracks (E = a track the reader could not read)
  tap UID                        a contactless card, UID in hex, e.g. tap 0A00B1C2D3
  unplug KIND / replug KIND      pull or plug back the cable of the barcode, magstripe or
                                 contactless reader"""


_KINDS = frozenset(kind.value for kind in DeviceKind)


def describe_port(port: ListPortInfo) -> str:
    """One line for a serial port: its path, USB VID:PID and serial number when it has them, and
    what the system calls it."""
    usb = f"{port.vid:04X}:{port.pid:04X}" if port.vid is not None and port.pid is not None else "-"
    description = port.description if port.description not in (None, "n/a") else ""
    return f"{port.device}  {usb}  {port.serial_number or '-'}  {description}".rstrip()


@click.group()
def devices() -> None:
    """Serial barcode, magnetic-stripe and contactless readers."""


@devices.command("list")
def list_command() -> None:
    """List serial ports: path, USB VID:PID, serial number, description."""
    ports = sorted(list_ports.comports(), key=lambda port: port.device)
    if not ports:
        click.echo("no serial ports found")
    for port in ports:
        click.echo(describe_port(port))


@devices.command("test")
@click.argument("name")
@pass_cli
def test_command(cli: CliContext, name: str) -> None:
    """Print each event of the configured reader NAME as a JSON line, until interrupted."""
    configured = {device.name: device for device in cli.settings.devices}
    if name not in configured:
        known = ", ".join(configured) or "none"
        raise click.UsageError(f"no device named {name!r} in the config (configured: {known})")
    events: queue.Queue[DeviceEvent] = queue.Queue()
    manager = DeviceManager([configured[name]], events.put)
    manager.start()
    try:
        while True:
            click.echo(json.dumps(event_json(events.get())))
    except KeyboardInterrupt:
        pass
    finally:
        manager.stop()
        while not events.empty():  # the reader's last word: disconnected, stopped
            click.echo(json.dumps(event_json(events.get_nowait())))


@devices.command("simulate")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([kind.value for kind in DeviceKind]),
    help="Reader kind to simulate (repeat; default: one of each).",
)
@click.option("--terminator", type=click.Choice(["CR", "LF", "CRLF"]), default="CR")
@click.option("--aim/--no-aim", default=True, help="Scanner sends AIM symbology identifiers.")
@click.option("--swipe-framing", type=click.Choice(["magtek", "idtech", "iso"]), default="magtek")
@click.option(
    "--contactless-format", type=click.Choice(["rdm6300", "hex", "decimal"]), default="rdm6300"
)
@click.option("--byte-order", type=click.Choice(["big", "little"]), default="big")
def simulate_command(
    kinds: tuple[str, ...],
    terminator: str,
    aim: bool,
    swipe_framing: str,
    contactless_format: str,
    byte_order: str,
) -> None:
    """Run simulated readers on pseudo-terminals and send reads to them from stdin."""
    with ExitStack() as stack:
        readers = {
            DeviceKind(kind): stack.enter_context(
                SimulatedReader.open(
                    kind,
                    name=f"sim-{kind}",
                    terminator=cast(Terminator, terminator),
                    aim_prefix=aim,
                    swipe_framing=cast(SwipeFraming, swipe_framing),
                    contactless_format=cast(ContactlessFormat, contactless_format),
                    byte_order=cast(ByteOrder, byte_order),
                )
            )
            for kind in dict.fromkeys(kinds or [kind.value for kind in DeviceKind])
        }
        for kind, reader in readers.items():
            click.echo(f"simulated {kind} reader on {reader.port}")
        click.echo("\n# [[devices]] tables for a till reading them:")
        click.echo(_device_tables(readers))
        click.echo(_SIMULATE_HELP)
        for line in sys.stdin:
            if line.strip() in ("quit", "exit"):
                break
            if line.strip():
                click.echo(_run(readers, line))


def _device_tables(readers: dict[DeviceKind, SimulatedReader]) -> str:
    """The `[[devices]]` tables of a till reading the simulated readers, to paste into a config."""
    fields = {"name", "kind", "url", "terminator", "aim_prefix", "contactless_format", "byte_order"}
    tables = [
        reader.settings().model_dump(mode="json", include=fields) for reader in readers.values()
    ]
    return tomlkit.dumps({"devices": tables})


def _run(readers: dict[DeviceKind, SimulatedReader], line: str) -> str:
    """Carry out one `simulate` command; what to tell the user."""
    try:
        command, *args = shlex.split(line)
    except ValueError as exc:
        return f"error: {exc}"
    try:
        match command, args:
            case "scan", [code]:
                _reader(readers, DeviceKind.BARCODE).scan(code)
            case "swipe", [track2] if not track2.startswith("track"):
                _reader(readers, DeviceKind.MAGSTRIPE).swipe(track2=track2)
            case "swipe", [_, *_] as tracks:
                given = {name: data for name, _, data in (track.partition("=") for track in tracks)}
                if not set(given) <= {"track1", "track2", "track3"}:
                    return "error: swipe takes track1=..., track2=..., track3=..."
                _reader(readers, DeviceKind.MAGSTRIPE).swipe(**given)
            case "tap", [uid]:
                _reader(readers, DeviceKind.CONTACTLESS).tap(uid)
            case "unplug", [kind] if kind in _KINDS:
                _reader(readers, DeviceKind(kind)).unplug()
            case "replug", [kind] if kind in _KINDS:
                _reader(readers, DeviceKind(kind)).replug()
            case "help", []:
                return _SIMULATE_HELP
            case _:
                return f"error: unknown command {line.strip()!r} (try help)"
    except (SimulatorError, ValueError) as exc:
        return f"error: {exc}"
    return "ok"


def _reader(readers: dict[DeviceKind, SimulatedReader], kind: DeviceKind) -> SimulatedReader:
    if kind not in readers:
        raise SimulatorError(f"no simulated {kind} reader (start it with --kind {kind})")
    return readers[kind]
