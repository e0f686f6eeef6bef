"""`tillcrm doctor`: everything a till needs, checked in one go, each problem with its fix.

Config, the keyring, the till's token, the CRM (reachable, accepting the token, its clock
against ours), the database (integrity, schema, which till it belongs to), the queue (rejected
ops, ops not draining), the configured readers, the receipt printer (asked for paper) and the
till's log file (support asks for it). It reads only: it never takes the till lock, so it can
run beside a working till. Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.cli._till import read_only_database, till_db_path
from tillcrm.config import ConfigError, Settings, config_path, load_settings
from tillcrm.crm import (
    TOKEN_ENV,
    CrmClient,
    CrmError,
    CrmUnauthorized,
    NoTokenError,
    keyring_problem,
    load_token,
)
from tillcrm.devices.printer import open_printer
from tillcrm.domain.money_format import MoneyFormat
from tillcrm.local import SCHEMA_VERSION, Meta, OpState, Outbox, TillDatabase
from tillcrm.logs import log_file
from tillcrm.receipts import PrinterProblem

__all__ = ["MAX_CLOCK_OFFSET_SECONDS", "STUCK_QUEUE_SECONDS", "doctor"]

MAX_CLOCK_OFFSET_SECONDS = 120.0
"""A till clock further off the CRM's than this confuses receipts, visits and offline ages."""
STUCK_QUEUE_SECONDS = 3600.0
"""An op waiting longer than this means the queue is not draining."""


@dataclass(frozen=True)
class Finding:
    """One check's outcome; a problem carries the fix."""

    subject: str
    text: str
    fix: str = ""

    @property
    def problem(self) -> bool:
        """Something to fix."""
        return bool(self.fix)

    def line(self) -> str:
        """`ok` or `PROBLEM`, the subject, what was found, and for a problem its fix."""
        if self.problem:
            return f"PROBLEM {self.subject}: {self.text}; fix: {self.fix}"
        return f"ok      {self.subject}: {self.text}"


def _config(cli: CliContext) -> tuple[Settings | None, list[Finding]]:
    path = config_path(cli.config_path)
    try:
        settings = load_settings(cli.config_path)
    except ConfigError as exc:
        return None, [Finding("config", p, f"edit {path}") for p in exc.problems]
    where = str(path) if path.exists() else f"defaults ({path} does not exist)"
    return settings, [Finding("config", where)]


def _token(settings: Settings) -> tuple[str | None, list[Finding]]:
    findings: list[Finding] = []
    if os.environ.get(TOKEN_ENV, "").strip():
        findings.append(Finding("keyring", f"not needed: the token comes from {TOKEN_ENV}"))
    elif problem := keyring_problem():
        findings.append(Finding("keyring", "cannot hold the token", problem))
    else:
        findings.append(Finding("keyring", "a backend is available"))
    if not settings.till.id and not os.environ.get(TOKEN_ENV, "").strip():
        fix = "run `tillcrm register --crm-url URL --code CODE`"
        return None, [*findings, Finding("till", "not registered", fix)]
    try:
        token = load_token(settings.till.id)
    except NoTokenError as exc:
        return None, [*findings, Finding("token", "the till has no token", str(exc))]
    return token, [*findings, Finding("token", f"found for till {settings.till.id or '(env)'}")]


async def _crm(settings: Settings, token: str | None) -> list[Finding]:
    url = settings.crm.url
    async with CrmClient(
        url,
        token=token,
        connect_timeout=settings.crm.connect_timeout,
        read_timeout=settings.crm.read_timeout,
        ca_bundle=settings.crm.ca_bundle,
    ) as client:
        started = time.time()
        try:
            health = await client.health()
        except CrmError as exc:
            fix = "check [crm] url, the network and TLS settings, or start the CRM"
            return [Finding("crm", f"{url} cannot be reached ({exc})", fix)]
        finished = time.time()
        findings = [Finding("crm", f"{url} answers ({health.status})")]
        ours = datetime.fromtimestamp((started + finished) / 2, UTC)
        offset = (ours - health.time).total_seconds()
        clock = f"the till's clock is {abs(offset):.0f} s {'ahead of' if offset > 0 else 'behind'}"
        if abs(offset) > MAX_CLOCK_OFFSET_SECONDS:
            fix = "set the clock and keep it synced (NTP, e.g. `timedatectl set-ntp true`)"
            findings.append(Finding("clock", f"{clock} the CRM's", fix))
        else:
            findings.append(Finding("clock", f"{clock} the CRM's"))
        if token is not None:
            try:
                me = await client.me()
            except CrmUnauthorized:
                fix = "register the till again: `tillcrm register --crm-url URL --code CODE`"
                findings.append(Finding("crm", "the CRM does not accept this till's token", fix))
            except CrmError as exc:
                fix = "run the doctor again; if it persists, read the CRM's log"
                findings.append(Finding("crm", f"cannot read the till's context ({exc})", fix))
            else:
                where = f"{me.store.name}, {me.brand.name}, {me.organization.name}"
                findings.append(Finding("till", f"{me.till_name} ({me.till_id}) at {where}"))
    return findings


def _database(settings: Settings) -> list[Finding]:
    db = read_only_database(settings)
    if db is None:
        return [Finding("database", f"none yet at {till_db_path(settings)} (made on first start)")]
    try:
        return _database_checks(settings, db)
    finally:
        db.close()


def _database_checks(settings: Settings, db: TillDatabase) -> list[Finding]:
    path = db.path
    restore = f"stop the till, keep a copy of {path.parent}, and restore {path.name} from a backup"
    try:
        check = [str(row[0]) for row in db.read("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        check = [str(exc)]
    if check != ["ok"]:
        return [Finding("database", f"{path} is damaged: {check[0]}", restore)]
    findings = [Finding("database", f"{path} passes the integrity check")]
    version = int(db.read("PRAGMA user_version")[0][0])
    if version > SCHEMA_VERSION:
        fix = "upgrade tillcrm"
        findings.append(
            Finding("database", f"schema {version} is newer than {SCHEMA_VERSION}", fix)
        )
    owner = Meta(db).till_id()
    if owner and settings.till.id and owner != settings.till.id:
        fix = "give this till its own data_dir"
        findings.append(Finding("database", f"belongs to till {owner}", fix))
    outbox = Outbox(db)
    depth, dead = outbox.depth(), outbox.count(OpState.DEAD)
    head = outbox.head()
    age = (datetime.now(UTC) - head.local_ts).total_seconds() if head else 0.0
    if age > STUCK_QUEUE_SECONDS:
        fix = "run `tillcrm sync --once` to see why it does not sync"
        findings.append(
            Finding("queue", f"{depth} op(s) waiting, the oldest {age / 60:.0f} min", fix)
        )
    else:
        findings.append(Finding("queue", f"{depth} op(s) waiting"))
    if dead:
        fix = "a supervisor compensates them on the till's dead-letter screen"
        findings.append(Finding("queue", f"{dead} op(s) rejected by the CRM", fix))
    review = outbox.count(OpState.NEEDS_REVIEW)
    if review:
        findings.append(Finding("queue", f"{review} op(s) applied but flagged for review"))
    return findings


def _devices(settings: Settings) -> list[Finding]:
    if not settings.devices:
        return [Finding("devices", "none configured (keyboard-wedge scanners need none)")]
    findings = []
    for device in settings.devices:
        subject = f"device {device.name}"
        if "://" in device.url:
            findings.append(Finding(subject, f"{device.kind.value} at {device.url} (not probed)"))
        elif not os.path.exists(device.url):
            fix = "plug the reader in, or correct its url (`tillcrm devices list` shows ports)"
            findings.append(Finding(subject, f"{device.url} does not exist", fix))
        elif not os.access(device.url, os.R_OK | os.W_OK):
            fix = "add this user to the port's group (often `dialout`) and log in again"
            findings.append(Finding(subject, f"{device.url} is not readable and writable", fix))
        else:
            findings.append(Finding(subject, f"{device.kind.value} at {device.url}"))
    return findings


def _logs(settings: Settings) -> list[Finding]:
    """Where the till's log file is (support asks for it), and whether the till can write it."""
    path = log_file(settings.logs)
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), path.parent)
    if not os.access(path if path.exists() else folder, os.W_OK):
        fix = f"let this user write {folder}, or set [logs] dir"
        return [Finding("logs", f"{path} cannot be written", fix)]
    return [Finding("logs", f"the till logs to {path}")]


def _printer(settings: Settings) -> list[Finding]:
    printer = open_printer(settings.printer, MoneyFormat())
    if printer is None:
        return [Finding("printer", "none configured (receipts are not printed)")]
    try:
        probed = printer.check()
    except PrinterProblem as problem:
        fix = "switch the printer on, load paper, check its cable or [printer] in the config"
        return [Finding("printer", f"{printer.where}: {problem} ({problem.detail})", fix)]
    return [Finding("printer", f"{printer.where} {'has paper' if probed else '(not probed)'}")]


@click.command()
@pass_cli
def doctor(cli: CliContext) -> None:
    """Check config, keyring, CRM, clock, database, queue, devices and logs; exit 1 on a
    problem."""
    settings, findings = _config(cli)
    if settings is not None:
        token, token_findings = _token(settings)
        findings += token_findings
        findings += asyncio.run(_crm(settings, token))
        findings += _database(settings)
        findings += _devices(settings)
        findings += _printer(settings)
        findings += _logs(settings)
    for finding in findings:
        click.echo(finding.line())
    problems = sum(finding.problem for finding in findings)
    if problems:
        click.echo(f"{problems} problem(s) found", err=True)
        raise SystemExit(1)
    click.echo("no problems found")
