"""The till-side fixture: a till of the test's own, enrolled at a store of the loopback CRM
(`tests.support.till` holds the helpers it is built from)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.crm_server import RunningCrm
from tests.support.till import Till, close_till, enroll_till
from tests.support.world import World


@pytest.fixture
async def till(
    tmp_path: Path, loopback_crm: RunningCrm, loopback_world: World
) -> AsyncIterator[Till]:
    """A till newly enrolled at brand a's store of the brand-scoped organization."""
    till = await enroll_till(tmp_path, loopback_crm, "brand-a-store")
    yield till
    await close_till(till)
