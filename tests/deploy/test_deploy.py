"""`deploy/`: the compose file, the systemd units and the image's entrypoint, checked by the
tools that will read them (`docker compose config`, `systemd-analyze verify`, `sh`) where this
machine has them, and the compose file's wiring always."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tillcrm.config import Settings
from tillcrm.server.context import ADMIN_TOKEN_ENV

DEPLOY = Path(__file__).parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALLED_TILLCRM = "/opt/tillcrm/bin/tillcrm"


def check_compose(model: dict[str, Any]) -> None:
    """What the CRM needs of the compose model, as written or as `docker compose config`
    resolves it: PostgreSQL healthy before the migrations, the migrations done before the
    CRM, both checked by their healthchecks, the data in a named volume, the secrets files."""
    services = model["services"]
    assert set(services) == {"db", "migrate", "crm"}
    db, migrate, crm = services["db"], services["migrate"], services["crm"]
    assert "pg_isready" in db["healthcheck"]["test"]
    assert "/v1/health" in " ".join(crm["healthcheck"]["test"])
    assert [
        mount.split(":")[0] if isinstance(mount, str) else mount["source"]
        for mount in db["volumes"]
    ] == ["pgdata"]
    assert "pgdata" in model["volumes"]
    assert migrate["command"] == ["tillcrm", "crm", "migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert crm["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert crm["depends_on"]["db"]["condition"] == "service_healthy"
    for service in (migrate, crm):
        environment = service["environment"]
        assert environment[f"{ADMIN_TOKEN_ENV}_FILE"] == "/run/secrets/admin_token"
        assert ADMIN_TOKEN_ENV not in environment  # the token itself never in the file
        assert service["build"]["dockerfile"].endswith("Dockerfile")
        secrets = {s if isinstance(s, str) else s["source"] for s in service["secrets"]}
        assert secrets == {"admin_token", "pg_password"}
    assert set(model["secrets"]) == {"admin_token", "pg_password"}


def test_the_compose_file_wires_postgres_migrations_and_the_crm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = yaml.safe_load(COMPOSE.read_text())
    check_compose(model)
    # The CRM in the container reads its database URL from the environment given it here.
    for name in [name for name in os.environ if name.startswith("TILLCRM_")]:
        monkeypatch.delenv(name)
    environment = model["services"]["crm"]["environment"]
    for name, value in environment.items():
        if name.startswith("TILLCRM_SERVER__"):
            monkeypatch.setenv(name, value)
    assert Settings().server.db == environment["TILLCRM_SERVER__DB"]


def _compose_works() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_works(), reason="docker compose is not installed here")
def test_docker_compose_config_accepts_the_compose_file(tmp_path: Path) -> None:
    """`docker compose config` validates the file against the Compose Specification and
    resolves it; the secrets' files come from an override, as an operator's would."""
    secrets = {}
    for name in ("admin_token", "pg_password"):
        (tmp_path / name).write_text("x" * 40)
        secrets[name] = {"file": str(tmp_path / name)}
    override = tmp_path / "secrets.yaml"
    override.write_text(yaml.safe_dump({"secrets": secrets}))
    result = subprocess.run(
        [
            "docker",
            "compose",
            "-f",
            str(COMPOSE),
            "-f",
            str(override),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    check_compose(json.loads(result.stdout))


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="no docker-compose v1 here")
def test_docker_compose_v1_config_accepts_the_compose_file(tmp_path: Path) -> None:
    """Where only Compose v1 (`docker-compose`, Debian's package) is installed, it validates
    the file all the same, but for the top-level `name`, a Compose Specification key v1
    predates (v2 reads it; without it v1 names the project after the folder)."""
    model = yaml.safe_load(COMPOSE.read_text())
    model.pop("name")
    for name in ("admin_token", "pg_password"):  # as an operator's files would be
        (tmp_path / name).write_text("x" * 40)
        model["secrets"][name] = {"file": str(tmp_path / name)}
    copy = tmp_path / "deploy" / "compose.yaml"
    copy.parent.mkdir()
    copy.write_text(yaml.safe_dump(model))
    result = subprocess.run(
        ["docker-compose", "-f", str(copy), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    check_compose(yaml.safe_load(result.stdout))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_systemd_analyze_verifies_the_unit(unit: Path, tmp_path: Path) -> None:
    """The unit as installed, its command pointed at this checkout's `tillcrm` (verify checks
    that it exists). `verify` only warns about a bad value, so any output is a failure."""
    text = unit.read_text()
    assert INSTALLED_TILLCRM in text
    here = Path(sys.executable).with_name("tillcrm")
    (tmp_path / unit.name).write_text(text.replace(INSTALLED_TILLCRM, str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / unit.name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    for hardening in ("ProtectSystem=strict", "NoNewPrivileges=yes", "Restart=on-failure"):
        assert hardening in text


def test_the_entrypoint_turns_secret_files_into_the_environment(tmp_path: Path) -> None:
    token = tmp_path / "admin_token"
    token.write_text("t" * 40 + "\n")
    result = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "sh", "-c", f'printf %s "${ADMIN_TOKEN_ENV}"'],
        env={"PATH": os.environ["PATH"], f"{ADMIN_TOKEN_ENV}_FILE": str(token)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "t" * 40
