"""`tillcrm crm serve`, `migrate`, `demo-data`, `enroll-till`: the commands an installer types."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from tests.support.crm_server import database_kinds, free_port, fresh_database, serve_crm
from tillcrm.cli import main
from tillcrm.server import demo_data as demo
from tillcrm.server.migrate import alembic_config
from tillcrm.server.tables import customers, enrollment_codes


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("")
    return path


def _crm(config_file: Path, *args: str) -> list[str]:
    return ["--config", str(config_file), "crm", *args]


def test_demo_data_then_an_enrollment_code_the_served_crm_accepts(
    tmp_path: Path, config_file: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    runner = CliRunner()
    loaded = runner.invoke(main, _crm(config_file, "demo-data", "--db", url, "--customers", "40"))
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 40 customers" in loaded.stdout
    assert demo.DEMO_BARCODE in loaded.stdout
    enrolled = runner.invoke(
        main, _crm(config_file, "enroll-till", "--store", demo.DEMO_STORE_ID, "--db", url)
    )
    assert enrolled.exit_code == 0, enrolled.output
    code = enrolled.stdout.strip()
    assert f"tillcrm register --crm-url http://127.0.0.1:8765 --code {code}" in enrolled.stderr
    with serve_crm(url) as crm, crm.client() as http:
        first = http.post("/tills/enroll", json={"code": code, "name": "Arena 1"})
        again = http.post("/tills/enroll", json={"code": code, "name": "Arena 2"})
        assert first.status_code == 201, first.text
        assert first.json()["context"]["store"]["id"] == demo.DEMO_STORE_ID
        assert again.status_code == 401
        with crm.engine.connect() as conn:
            stored = conn.execute(sa.select(enrollment_codes.c.code_hash)).scalars().all()
            count = conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one()
    assert code not in stored
    assert count == 40


def test_demo_data_shows_its_progress_with_rate_and_time_left_on_stderr(
    tmp_path: Path, config_file: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    result = subprocess.run(
        [
            Path(sys.executable).with_name("tillcrm"),
            *_crm(config_file, "demo-data", "--db", url, "--customers", "40"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert "loaded 40 customers" in result.stdout
    (bar,) = [line for line in result.stderr.splitlines() if "Loading demo customers" in line]
    assert "40/40" in bar
    assert re.search(r"[\d,]+ customers/s", bar), bar
    assert "ETA" in bar


def test_demo_data_twice_on_one_database_is_refused(tmp_path: Path, config_file: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    args = _crm(config_file, "demo-data", "--db", url, "--customers", "20")
    assert CliRunner().invoke(main, args).exit_code == 0
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1
    assert "already loaded" in again.output


def test_enroll_till_at_an_unknown_store_names_the_stores(
    tmp_path: Path, config_file: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    CliRunner().invoke(main, _crm(config_file, "demo-data", "--db", url, "--customers", "20"))
    result = CliRunner().invoke(
        main, _crm(config_file, "enroll-till", "--store", "nowhere", "--db", url)
    )
    assert result.exit_code == 1
    assert "no store 'nowhere'" in result.output
    assert demo.DEMO_STORE_ID in result.output


def test_without_the_server_extra_one_line_names_the_install(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def without_uvicorn(name: str, package: str | None = None) -> object:
        return None if name == "uvicorn" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_uvicorn)
    for command in (["serve"], ["demo-data"], ["enroll-till", "--store", "x"]):
        result = CliRunner().invoke(main, _crm(config_file, *command))
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [
            "Error: the CRM needs uvicorn: pip install 'tillcrm[server]'"
        ]


def test_the_till_command_does_not_import_the_server_packages() -> None:
    probe = (
        "import sys, tillcrm.cli; "
        "print(sorted({'fastapi', 'uvicorn', 'alembic'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_serve_migrates_the_default_database_and_answers_health(
    tmp_path: Path, config_file: Path
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "TILLCRM_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [
            Path(sys.executable).with_name("tillcrm"),
            *_crm(config_file, "serve", "--port", str(port)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline and process.poll() is None:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).json()
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert body is not None, output
    assert body["status"] == "ok"
    assert (data_dir / "crm.sqlite3").exists()
    assert f"http://127.0.0.1:{port}/v1" in output


@pytest.mark.parametrize("kind", database_kinds())
def test_migrate_brings_a_new_database_to_the_head_and_again_changes_nothing(
    kind: str, tmp_path: Path, config_file: Path
) -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    with fresh_database(kind, tmp_path) as url:
        runner = CliRunner()
        first = runner.invoke(main, _crm(config_file, "migrate", "--db", url))
        again = runner.invoke(main, _crm(config_file, "migrate", "--db", url))
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            applied = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            versions = list(applied)
        engine.dispose()
    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert "is up to date" in first.output
    assert versions == [head]
