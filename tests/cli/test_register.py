"""`tillcrm register` against the reference CRM on loopback: the token goes to the keyring,
the identity to the config file (comments kept), and a failure spends nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.crm_server import RunningCrm
from tests.support.memory_keyring import memory_keyring, no_keyring
from tests.support.world import World
from tillcrm.cli import main
from tillcrm.config import load_settings
from tillcrm.crm import load_token
from tillcrm.server import admin
from tillcrm.server.db import writing


def _code(crm: RunningCrm) -> str:
    with writing(crm.engine) as conn:
        return admin.issue_enrollment_code(conn, "brand-a-store")


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TILLCRM_TOKEN", raising=False)
    path = tmp_path / "config.toml"
    path.write_text('# installed by Pat\n[till]\nname = "Front till"  # by the door\n')
    return path


def test_register_keeps_the_token_in_the_keyring_and_the_identity_in_the_config(
    loopback_crm: RunningCrm, loopback_world: World, config_file: Path
) -> None:
    args = ["--config", str(config_file), "register", "--crm-url", loopback_crm.url]
    with memory_keyring() as backend:
        result = CliRunner().invoke(main, [*args, "--code", _code(loopback_crm)])
        assert result.exit_code == 0, result.output
        settings = load_settings(config_file)
        assert settings.till.id
        assert settings.crm.url == loopback_crm.url
        token = load_token(settings.till.id)
        assert token in backend.passwords.values()
    assert "registered till" in result.output
    assert "Front till" in result.output
    text = config_file.read_text()
    assert "# installed by Pat" in text
    assert "# by the door" in text
    assert token not in text
    with loopback_crm.client(token) as http:
        assert http.get("/tills/me").json()["till_id"] == settings.till.id


def test_a_used_code_is_refused_and_nothing_is_written(
    loopback_crm: RunningCrm, loopback_world: World, config_file: Path
) -> None:
    code = _code(loopback_crm)
    args = ["--config", str(config_file), "register", "--crm-url", loopback_crm.url]
    before = config_file.read_text()
    with memory_keyring() as backend:
        assert CliRunner().invoke(main, [*args, "--code", code, "--print-token"]).exit_code == 0
        config_file.write_text(before)
        result = CliRunner().invoke(main, [*args, "--code", code])
        assert backend.passwords == {}
    assert result.exit_code == 1
    assert "enrollment failed" in result.output
    assert "unknown, used or expired" in result.output
    assert config_file.read_text() == before


def test_without_a_keyring_the_code_is_not_spent(
    loopback_crm: RunningCrm, loopback_world: World, config_file: Path
) -> None:
    code = _code(loopback_crm)
    args = ["--config", str(config_file), "register", "--crm-url", loopback_crm.url]
    with no_keyring():
        result = CliRunner().invoke(main, [*args, "--code", code])
    assert result.exit_code == 1
    assert "keyring" in result.output
    assert "TILLCRM_TOKEN" in result.output
    printed = CliRunner().invoke(main, [*args, "--code", code, "--print-token"])
    assert printed.exit_code == 0, printed.output
    assert printed.output.startswith("TILLCRM_TOKEN=")
