"""The till's frame rate reaches Textual, and a person's own `TEXTUAL_FPS` still wins."""

from __future__ import annotations

import os
import subprocess
import sys

import tillcrm

_READ_FPS = "import tillcrm.cli.run, textual.constants as c; print(c.MAX_FPS)"


def _textual_fps(**env: str) -> int:
    """Textual's frame rate in a fresh interpreter that starts the way the till does."""
    clean = {key: value for key, value in os.environ.items() if key != "TEXTUAL_FPS"}
    done = subprocess.run(
        [sys.executable, "-c", _READ_FPS],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_the_till_asks_textual_for_its_frame_rate() -> None:
    assert _textual_fps() == tillcrm.FRAME_RATE != 60


def test_textual_fps_from_the_environment_wins() -> None:
    assert _textual_fps(TEXTUAL_FPS="30") == 30
