"""`tillcrm sync` and `tillcrm doctor` against the reference CRM on loopback: a registered
till syncs and checks out clean; each broken part is one problem line naming its fix."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import keyring
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from tests.support.crm_server import RunningCrm, free_port
from tests.support.customers import put_customer
from tests.support.memory_keyring import memory_keyring, no_keyring
from tests.support.till_db import queue_visits
from tests.support.world import World
from tillcrm.cli import main
from tillcrm.cli._till import TILL_DB_NAME
from tillcrm.config import load_settings
from tillcrm.crm._token import KEYRING_SERVICE, TOKEN_ENV
from tillcrm.domain import IdentifierKind
from tillcrm.local import Outbox, TillLock, open_database
from tillcrm.server import admin
from tillcrm.server.db import reading, writing
from tillcrm.server.tables import applied_ops


@pytest.fixture
def config_file(
    tmp_path: Path, loopback_crm: RunningCrm, loopback_world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A till registered at brand a's store, its token in an in-memory keyring."""
    monkeypatch.delenv("TILLCRM_TOKEN", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    with writing(loopback_crm.engine) as conn:
        code = admin.issue_enrollment_code(conn, "brand-a-store")
    with memory_keyring():
        result = _run(path, "register", "--crm-url", loopback_crm.url, "--code", code)
        assert result.exit_code == 0, result.output
        yield path


def _run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def _problems(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("PROBLEM")]


def test_sync_once_pulls_the_scope_with_progress_and_status_shows_the_queue(
    config_file: Path, loopback_world: World
) -> None:
    put_customer(loopback_world, "brand", cards={IdentifierKind.BARCODE: "CLI-SYNC-1"})

    before = _run(config_file, "sync", "--status")
    once = _run(config_file, "sync", "--once")
    status = _run(config_file, "sync", "--status")

    assert before.exit_code == 0
    assert "no till database yet" in before.output
    assert once.exit_code == 0, once.output
    assert "pushed: 0 op(s)" in once.output
    pulled = int(once.output.split("pulled: ")[1].split()[0])
    assert pulled >= 1
    (bar,) = [line for line in once.stderr.splitlines() if "Pulling customers" in line]
    assert f"{pulled}/{pulled}" in bar
    assert "customers/s" in bar
    assert status.exit_code == 0, status.output
    assert "queue: 0 op(s) waiting" in status.output
    assert "dead: 0" in status.output
    assert "pull: at cursor" in status.output


def test_sync_status_says_why_the_queue_is_blocked(config_file: Path, tmp_path: Path) -> None:
    """`--status` reads the database only: the oldest op's last failure is kept in its row."""
    assert _run(config_file, "sync", "--once").exit_code == 0
    db = open_database(tmp_path / "data" / TILL_DB_NAME)
    try:
        queue_visits(db, uuid4())
        outbox = Outbox(db)
        batch = outbox.next_batch(10, now=time.time())
        assert batch is not None
        outbox.record_retry([1], delay=60, error="HTTP 503: the CRM is down", now=time.time())
    finally:
        db.close()

    status = _run(config_file, "sync", "--status")

    assert status.exit_code == 0, status.output
    assert "queue: 1 op(s) waiting, oldest 0 s old" in status.output
    assert "blocked: op 1 not sent after 1 tries: HTTP 503: the CRM is down" in status.output


def test_sync_once_refuses_while_the_till_runs(config_file: Path, tmp_path: Path) -> None:
    with TillLock(tmp_path / "data"):
        result = _run(config_file, "sync", "--once")
    assert result.exit_code == 1
    assert "another tillcrm till" in result.output


def _crm_down(config: Path) -> None:
    text = config.read_text()
    crm_url = text.split('url = "')[1].split('"')[0]
    config.write_text(text.replace(crm_url, f"http://127.0.0.1:{free_port()}"))


def test_sync_forever_drains_the_queue_and_stops_on_sigterm(
    config_file: Path, tmp_path: Path, loopback_crm: RunningCrm, loopback_world: World
) -> None:
    """The sync-only mode of a service unit: a queued op reaches the CRM without the till's
    screens, each status change is a line for the journal, and SIGTERM ends it cleanly with
    the till lock released."""
    settings = load_settings(config_file)
    token = keyring.get_password(KEYRING_SERVICE, settings.till.id)
    assert token
    customer = put_customer(loopback_world, "brand", first_name="Overnight")
    db = open_database(tmp_path / "data" / TILL_DB_NAME)
    try:
        [op] = queue_visits(db, customer, operator="brand-cashier")
    finally:
        db.close()
    process = subprocess.Popen(
        [
            Path(sys.executable).with_name("tillcrm"),
            "--config",
            str(config_file),
            "sync",
            "--forever",
        ],
        env={**os.environ, TOKEN_ENV: token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("sync online; queue 0 op(s)"):
                break
        process.send_signal(signal.SIGTERM)
        output = "".join(lines) + process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "sync online; queue 0 op(s), dead 0, needs review 0" in output
    with reading(loopback_crm.engine) as conn:
        answered = conn.execute(
            sa.select(applied_ops.c.status).where(applied_ops.c.op_id == op.op_id)
        ).scalar_one()
    assert answered == "applied"
    with TillLock(tmp_path / "data"):
        pass


def test_sync_once_with_the_crm_down_says_so(config_file: Path) -> None:
    _crm_down(config_file)
    result = _run(config_file, "sync", "--once")
    assert result.exit_code == 1
    assert "sync offline" in result.output


def test_sync_needs_a_mode(config_file: Path) -> None:
    result = _run(config_file, "sync")
    assert result.exit_code == 2
    assert "--once, --forever, --status or --renumber" in result.output


def _copy(source: Path, target: Path) -> None:
    """The database at `source` copied over `target` (SQLite's backup, so WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def test_sync_renumber_moves_a_queue_stopped_by_a_restored_copy(
    config_file: Path, tmp_path: Path
) -> None:
    """A till database put back from an old copy: `--once` says what blocks the queue and the
    fix, `--renumber` applies it, and the next `--once` sends the queue."""
    assert "nothing to renumber" in _run(config_file, "sync", "--renumber").output
    assert _run(config_file, "sync", "--once").exit_code == 0
    path, backup = tmp_path / "data" / TILL_DB_NAME, tmp_path / "backup.sqlite3"
    customer = uuid4()
    with contextlib.closing(open_database(path)) as db:
        queue_visits(db, customer, operator="brand-cashier")
    _copy(path, backup)
    with contextlib.closing(open_database(path)) as db:
        queue_visits(db, customer, operator="brand-cashier")
    assert _run(config_file, "sync", "--once").exit_code == 0
    _copy(backup, path)
    with contextlib.closing(open_database(path)) as db:
        queue_visits(db, customer, operator="brand-cashier")

    stopped = _run(config_file, "sync", "--once")
    assert stopped.exit_code == 1
    assert "blocked: the CRM stopped taking this till's ops: seq 2 was already used" in (
        stopped.output
    )
    assert "`tillcrm sync --renumber`" in stopped.output
    renumbered = _run(config_file, "sync", "--renumber")
    assert renumbered.exit_code == 0, renumbered.output
    assert "renumbered: 1 unsent op(s)" in renumbered.output
    again = _run(config_file, "sync", "--once")
    assert again.exit_code == 0, again.output
    assert "queue: 0 op(s) waiting" in again.output
    assert "blocked" not in again.output


def test_doctor_passes_a_healthy_till(config_file: Path, till_log_dir: Path) -> None:
    assert _run(config_file, "sync", "--once").exit_code == 0

    result = _run(config_file, "doctor")

    assert result.exit_code == 0, result.output
    assert _problems(result) == []
    for subject in ("config", "keyring", "token", "crm", "clock", "till", "database", "queue"):
        assert f"ok      {subject}:" in result.output
    assert "passes the integrity check" in result.output
    assert "devices: none configured" in result.output
    assert f"ok      logs: the till logs to {till_log_dir / 'till.log'}" in result.output
    assert "tillcrm.sync._engine: pulled" in (till_log_dir / "till.log").read_text()


def test_doctor_names_each_problem_and_its_fix(config_file: Path, tmp_path: Path) -> None:
    _crm_down(config_file)
    with config_file.open("a") as config:
        config.write('\n[[devices]]\nname = "front"\nkind = "barcode"\n')
        config.write('url = "/dev/tillcrm-no-such-port"\n')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / TILL_DB_NAME).write_bytes(b"this is not a database" * 100)

    with no_keyring():
        result = _run(config_file, "doctor")

    assert result.exit_code == 1, result.exception
    problems = _problems(result)
    subjects = [line.split(":")[0].removeprefix("PROBLEM ") for line in problems]
    assert subjects == ["keyring", "token", "crm", "database", "device front"], result.output
    assert all("; fix: " in line for line in problems)
    assert "TILLCRM_TOKEN" in problems[0]
    assert "cannot be reached" in problems[2]
    assert "plug the reader in" in problems[4]


def test_doctor_reports_a_bad_config_instead_of_stopping(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[crm]\nurll = 1\n")
    result = _run(config, "doctor")
    assert result.exit_code == 1
    (problem,) = _problems(result)
    assert "crm.urll: unknown key" in problem
    assert f"fix: edit {config}" in problem


def test_doctor_sees_a_missing_token(config_file: Path) -> None:
    with memory_keyring():
        # A keyring without this till's token: as after a reinstall.
        result = _run(config_file, "doctor")
    problems = _problems(result)
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in problems] == ["PROBLEM token"]
    assert "tillcrm register" in problems[0]


def test_doctor_sees_a_token_the_crm_refuses(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILLCRM_TOKEN", "not-a-real-token")
    result = _run(config_file, "doctor")
    problems = _problems(result)
    assert result.exit_code == 1
    assert problems == [
        "PROBLEM crm: the CRM does not accept this till's token; fix: register the till "
        "again: `tillcrm register --crm-url URL --code CODE`"
    ]
    assert "ok      keyring: not needed: the token comes from TILLCRM_TOKEN" in result.output
