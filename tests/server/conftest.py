"""Server tests run against a real CRM over HTTP, once per database kind available here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.crm_server import RunningCrm, database_kinds, fresh_database, serve_crm
from tests.support.world import World, build_world


@pytest.fixture(scope="module", params=database_kinds())
def crm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningCrm]:
    """A CRM on loopback with a fresh database, shared by one test module."""
    tmp: Path = tmp_path_factory.mktemp("crm")
    with fresh_database(request.param, tmp) as db_url, serve_crm(db_url) as running:
        yield running


@pytest.fixture(scope="module")
def world(crm: RunningCrm) -> World:
    """The organizations, brands, tills and operators of `tests.support.world`."""
    return build_world(crm)
