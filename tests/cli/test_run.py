"""`tillcrm` with no sub-command runs the production till: it refuses an unregistered till in
one line, and keeps the till's context so it can start while the CRM is down."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.support.crm_server import RunningCrm, free_port
from tests.support.world import World
from tillcrm.cli import main
from tillcrm.cli.run import CONTEXT_FILE, till_context
from tillcrm.config import CrmSettings, Settings
from tillcrm.crm import CrmClient


def test_an_unregistered_till_is_told_how_to_register(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    result = CliRunner().invoke(main, ["--config", str(config)])
    assert result.exit_code == 1
    assert "this till is not registered: run `tillcrm register" in result.output


async def test_the_context_is_kept_for_a_start_while_the_crm_is_down(
    tmp_path: Path, loopback_crm: RunningCrm, loopback_world: World
) -> None:
    settings = Settings(data_dir=tmp_path, crm=CrmSettings(url=loopback_crm.url))
    async with CrmClient(loopback_crm.url, token=loopback_world.tokens["brand.a"]) as client:
        online = await till_context(settings, client)
    assert (tmp_path / CONTEXT_FILE).exists()
    down = f"http://127.0.0.1:{free_port()}"
    async with CrmClient(down, token="-", connect_timeout=1) as client:
        assert await till_context(settings, client) == online
        (tmp_path / CONTEXT_FILE).unlink()
        with pytest.raises(click.ClickException, match="this till has never reached it"):
            await till_context(settings, client)
