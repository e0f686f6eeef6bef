"""`python -m tillcrm` is the `tillcrm` command, for service units and containers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tillcrm


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tillcrm", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: tillcrm ")
    assert "demo" in result.stdout


def test_the_package_says_it_is_typed() -> None:
    assert (Path(tillcrm.__file__).parent / "py.typed").is_file()
