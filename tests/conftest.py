"""Fixtures shared by the till-side tests: one reference CRM on loopback, on SQLite.

The CRM's own tests (tests/server) run it on every database kind; the till mostly needs one.
A till-side test marked `every_crm_database` runs on every kind too (PostgreSQL when
`TILLCRM_TEST_PG_URL` is set): the queue's promises that hang on what the CRM's database
stores and answers (issue 15) are proven on both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.crm_server import RunningCrm, database_kinds, fresh_database, serve_crm
from tests.support.world import World, build_world

EVERY_CRM_DATABASE = "every_crm_database"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{EVERY_CRM_DATABASE}: run the loopback CRM on every database kind here"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A marked test that uses `loopback_crm` (itself or through a fixture) gets one run per
    database kind; the others keep the one SQLite CRM of their module."""
    marked = metafunc.definition.get_closest_marker(EVERY_CRM_DATABASE) is not None
    if marked and "loopback_crm" in metafunc.fixturenames:
        metafunc.parametrize("loopback_crm", database_kinds(), indirect=True, scope="module")


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
def loopback_crm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningCrm]:
    """A CRM on loopback with a fresh database (SQLite unless the test is marked
    `every_crm_database`), shared by one test module."""
    kind = getattr(request, "param", "sqlite")
    with (
        fresh_database(kind, tmp_path_factory.mktemp("crm")) as db_url,
        serve_crm(db_url) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def loopback_world(loopback_crm: RunningCrm) -> World:
    """The organizations, tills and operators of `tests.support.world` on `loopback_crm`."""
    return build_world(loopback_crm)
