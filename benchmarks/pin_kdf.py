"""The PIN KDF's two sides: what one login costs the till, and what a stolen till's hashes
cost an attacker who searches every 6-digit PIN offline.

- `hash`: one `hash_pin` at the production cost (`domain.PIN_COST`), wall time;
- `login`: one code + PIN login on a real till database (`OperatorStore.check_pin`, the
  check the login screen's worker runs), wall time: the lanes run in parallel threads;
- `search`: an attacker's cost per guess is the CPU of every lane (one lane's single-thread
  time x lanes, measured one lane at a time), so the whole space of 10^6 PINs on 2 cores
  takes 10^6 x that / 2.

The machine's load average is printed beside the figures: other work on its 2 cores slows
the parallel lanes (the login) more than the attacker's sequential figure. Prints JSON.

    .venv/bin/python benchmarks/pin_kdf.py [--runs 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tillcrm.domain import PIN_COST, Operator, hash_pin
from tillcrm.local import open_database
from tillcrm.local.operators import OperatorStore, PinPolicy

PIN = "246813"
SPACE = 10**6
CORES = 2


def _times(runs: int, action: Callable[[], object]) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return {
        "min_ms": round(min(samples) * 1000, 1),
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


def _one_lane() -> bytes:
    return hashlib.scrypt(
        PIN.encode(),
        salt=bytes(17),
        n=PIN_COST.n,
        r=PIN_COST.r,
        p=PIN_COST.p,
        maxmem=PIN_COST.memory + 2**20,
        dklen=32,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    cashier = Operator(id="op-1", code="100", name="Cass", pin_hash=hash_pin(PIN))
    with tempfile.TemporaryDirectory() as tmp:
        store = OperatorStore(open_database(Path(tmp) / "till.sqlite3"), PinPolicy())
        store.replace_all([cashier])
        login = _times(runs, lambda: store.check_pin("100", PIN, now=time.time()))
    lane = _times(runs, _one_lane)
    guess_ms = lane["min_ms"] * PIN_COST.lanes
    print(
        json.dumps(
            {
                "cost": {
                    "n": PIN_COST.n,
                    "r": PIN_COST.r,
                    "p": PIN_COST.p,
                    "lanes": PIN_COST.lanes,
                    "memory_mb_per_lane": round(PIN_COST.memory / 2**20, 1),
                },
                "hash": _times(runs, lambda: hash_pin(PIN)),
                "login": login,
                "one_lane_single_thread": lane,
                "search": {
                    "cpu_ms_per_guess": round(guess_ms, 1),
                    "pins": SPACE,
                    "cores": CORES,
                    "whole_space_hours": round(SPACE * guess_ms / 1000 / CORES / 3600, 1),
                },
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
