"""Config: TOML plus environment overrides; every problem reported on its own line, exit 2."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from tillcrm.cli import main
from tillcrm.config import ConfigError, DeviceKind, load_settings

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TILLCRM_CONFIG", "TILLCRM_CRM__URL", "TILLCRM_SYNC__BATCH_SIZE"):
        monkeypatch.delenv(name, raising=False)


def test_the_example_config_loads_as_documented() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.crm.url.startswith("http")
    assert settings.offline.max_balance_age_hours == 24
    assert {device.kind for device in settings.devices} == set(DeviceKind)


def test_environment_overrides_one_nested_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "till.toml"
    path.write_text('[crm]\nurl = "https://crm.example"\nread_timeout = 4\n')
    monkeypatch.setenv("TILLCRM_CRM__URL", "http://127.0.0.1:9")
    settings = load_settings(path)
    assert settings.crm.url == "http://127.0.0.1:9"
    assert settings.crm.read_timeout == 4  # the rest of the table still comes from the file


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.toml"
    path.write_text("[sync]\nbatch_size = 50\n")
    monkeypatch.setenv("TILLCRM_CONFIG", str(path))
    assert load_settings().sync.batch_size == 50


def test_every_problem_names_file_key_and_expectation(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[crm]\nurl = "x"\nread_timout = 3\n\n[sync]\nbatch_size = "many"\n\n'
        '[[devices]]\nname = "scanner"\nkind = "laser"\nurl = "/dev/ttyUSB0"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    problems = caught.value.problems
    assert len(problems) == 3
    assert all(line.startswith(f"{path}: ") for line in problems)
    assert any("crm.read_timout: unknown key" in line for line in problems)
    assert any("sync.batch_size: " in line and "integer" in line for line in problems)
    assert any("devices.0.kind: " in line and "barcode" in line for line in problems)


def test_missing_required_device_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[devices]]\nname = "reader"\nkind = "magstripe"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [f"{path}: devices.0.url: missing required key"]


def test_cli_prints_each_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[sync]\nbatch_size = 0\nfoo = 1\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("config error:")]
    assert len(lines) == 2


def test_an_explicit_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml")


def test_cli_check_reports_a_good_config() -> None:
    result = CliRunner().invoke(main, ["--config", str(EXAMPLE), "config", "check"])
    assert result.exit_code == 0, result.output
    assert f"{EXAMPLE}: OK" in result.output


def test_cli_check_without_a_config_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TILLCRM_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 0
    assert f"{tmp_path / 'tillcrm' / 'config.toml'}: no such file; the defaults apply" in (
        result.output
    )
    assert "OK" not in result.output
