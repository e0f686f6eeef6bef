"""Device layer benchmark: parser throughput per reader kind, and the latency of a read through a
real pseudo-terminal, from the write of its last byte to the event callback. Prints JSON.

    .venv/bin/python benchmarks/devices.py [--frames 20000] [--samples 300]

Target: p95 latency under 5 ms. A bare ISO swipe (no ETX) is only complete once the line has been
quiet for the swipe framer's gap (50 ms), so that framing is reported apart, for information.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tillcrm.config import DeviceKind, DeviceSettings
from tillcrm.devices.decoder import Decoder
from tillcrm.devices.events import DeviceEvent, DeviceStatus, LinkState
from tillcrm.devices.manager import DeviceManager
from tillcrm.devices.simulator import SimulatedReader, barcode_frame, swipe_frame, tap_frame


@dataclass(frozen=True)
class Case:
    """One reader set-up and the frame it is fed (frame number `i`)."""

    name: str
    device: DeviceSettings
    frame: Callable[[int], bytes]
    simulator: dict[str, Any]


def _ean13(i: int) -> str:
    body = f"{400638133393 + i:012d}"[-12:]
    total = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _uid(i: int) -> str:
    return f"{0x6200000000 + i:010X}"


CASES = [
    Case(
        "barcode (EAN-13, AIM, CR)",
        DeviceSettings(name="scanner", kind=DeviceKind.BARCODE, url="loop://", aim_prefix=True),
        lambda i: barcode_frame(_ean13(i), symbology="]E0"),
        {"kind": "barcode", "aim_prefix": True},
    ),
    Case(
        "magstripe (MagTek, tracks 1+2, loyalty)",
        DeviceSettings(name="msr", kind=DeviceKind.MAGSTRIPE, url="loop://"),
        lambda i: swipe_frame(track1=f"A{600100 + i}^SMITH/JANE^", track2=f"{600100 + i}"),
        {"kind": "magstripe", "swipe_framing": "magtek"},
    ),
    Case(
        "magstripe (MagTek, payment card refused)",
        DeviceSettings(name="msr", kind=DeviceKind.MAGSTRIPE, url="loop://"),
        lambda i: swipe_frame(
            track1="B4111111111111111^DOE/JOHN^2512101", track2="4111111111111111=2512101"
        ),
        {"kind": "magstripe", "swipe_framing": "magtek"},
    ),
    Case(
        "magstripe (ID TECH, LRC checked)",
        DeviceSettings(name="msr", kind=DeviceKind.MAGSTRIPE, url="loop://"),
        lambda i: swipe_frame(track2=f"{600100 + i}", framing="idtech"),
        {"kind": "magstripe", "swipe_framing": "idtech"},
    ),
    Case(
        "contactless (RDM6300)",
        DeviceSettings(name="rfid", kind=DeviceKind.CONTACTLESS, url="loop://"),
        lambda i: tap_frame(_uid(i)),
        {"kind": "contactless"},
    ),
    Case(
        "contactless (hex line, little-endian)",
        DeviceSettings(
            name="rfid",
            kind=DeviceKind.CONTACTLESS,
            url="loop://",
            contactless_format="hex",
            byte_order="little",
        ),
        lambda i: tap_frame(_uid(i), contactless_format="hex", byte_order="little"),
        {"kind": "contactless", "contactless_format": "hex", "byte_order": "little"},
    ),
]

QUIET_GAP_CASE = Case(
    "magstripe (bare ISO tracks, ends on a 50 ms quiet gap)",
    DeviceSettings(name="msr", kind=DeviceKind.MAGSTRIPE, url="loop://"),
    lambda i: swipe_frame(track2=f"{600100 + i}", framing="iso"),
    {"kind": "magstripe", "swipe_framing": "iso"},
)


def parser_throughput(case: Case, frames: int) -> float:
    """Frames per second through the framer and parser, one frame per read, best of three."""
    stream = [case.frame(i) for i in range(frames)]
    best = 0.0
    for _ in range(3):
        decoder = Decoder.for_device(case.device)
        started = time.perf_counter()
        events = 0
        for data in stream:
            events += len(decoder.feed(data))
        events += len(decoder.flush())
        elapsed = time.perf_counter() - started
        assert events == frames, f"{case.name}: {events} events for {frames} frames"
        best = max(best, frames / elapsed)
    return best


def pty_latency(case: Case, samples: int) -> dict[str, float | int]:
    """Milliseconds from writing a frame to the pty master to the callback receiving its event."""
    arrived: queue.Queue[tuple[int, DeviceEvent]] = queue.Queue()

    def on_event(event: DeviceEvent) -> None:
        arrived.put((time.perf_counter_ns(), event))

    latencies: list[float] = []
    with SimulatedReader.open(**case.simulator) as sim:
        device = case.device.model_copy(update={"url": sim.port, "name": sim.name})
        with DeviceManager([device], on_event):
            _, status = arrived.get(timeout=5)
            assert isinstance(status, DeviceStatus)
            assert status.state is LinkState.CONNECTED
            for i in range(samples):
                frame = case.frame(i)
                written = time.perf_counter_ns()
                sim.write(frame)
                received, event = arrived.get(timeout=5)
                assert not isinstance(event, DeviceStatus), event
                latencies.append((received - written) / 1e6)
                time.sleep(0.002)  # cards come at a human pace: the reader is idle in its read
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "samples": len(latencies),
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "max_ms": round(max(latencies), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames per parser run")
    parser.add_argument("--samples", type=int, default=300, help="pty round trips per kind")
    args = parser.parse_args()
    latency = {case.name: pty_latency(case, args.samples) for case in CASES}
    worst = max(figures["p95_ms"] for figures in latency.values())
    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "parser_frames_per_second": {
            case.name: round(parser_throughput(case, args.frames)) for case in CASES
        },
        "pty_latency": latency,
        "pty_latency_quiet_gap": {
            QUIET_GAP_CASE.name: pty_latency(QUIET_GAP_CASE, max(20, args.samples // 10))
        },
        "target_p95_ms": 5.0,
        "target_met": worst < 5.0,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
