"""How long `tillcrm crm demo-data --customers 1000000` takes on SQLite (target: < 2 minutes).

Runs the real command on a fresh SQLite file in a temporary directory and prints JSON:

    {"customers": ..., "seconds": ..., "customers_per_s": ..., "file_mb": ...}

Run: .venv/bin/python benchmarks/demo_data.py [--customers 1000000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, help="write the database here and keep it (for other benchmarks)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tillcrm-demo-") as tmp:
        database = args.keep or Path(tmp) / "crm.sqlite3"
        config = Path(tmp) / "config.toml"
        config.write_text("")
        command = [
            str(Path(sys.executable).with_name("tillcrm")),
            "--config",
            str(config),
            "crm",
            "demo-data",
            "--db",
            f"sqlite:///{database}",
            "--customers",
            str(args.customers),
            "--seed",
            str(args.seed),
        ]
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - began
        size = sum(
            path.stat().st_size
            for path in database.parent.glob(f"{database.name}*")
            if path.is_file()
        )
    print(
        json.dumps(
            {
                "customers": args.customers,
                "seconds": round(seconds, 1),
                "customers_per_s": round(args.customers / seconds),
                "file_mb": round(size / 1e6, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
