"""Fixtures shared by the till-side tests: one reference CRM on loopback, on SQLite.

The CRM's own tests (tests/server) run it on every database kind; the till only needs one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.crm_server import RunningCrm, fresh_database, serve_crm
from tests.support.world import World, build_world


@pytest.fixture(autouse=True)
def till_log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The till's log folder for this test (`[logs] dir`), never the user's; the handlers a
    command under test added (`start_till_logging`) are taken off afterwards."""
    folder = tmp_path / "log"
    monkeypatch.setenv("TILLCRM_LOGS__DIR", str(folder))
    root, ours = logging.getLogger(), logging.getLogger("tillcrm")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    yield folder
    for handler in set(root.handlers) - set(handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(levels[0])
    ours.setLevel(levels[1])


@pytest.fixture(scope="module")
def loopback_crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCrm]:
    """A CRM on loopback with a fresh SQLite database, shared by one test module."""
    with (
        fresh_database("sqlite", tmp_path_factory.mktemp("crm")) as db_url,
        serve_crm(db_url) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def loopback_world(loopback_crm: RunningCrm) -> World:
    """The organizations, tills and operators of `tests.support.world` on `loopback_crm`."""
    return build_world(loopback_crm)
