"""A reference CRM for the benchmarks: `tillcrm crm serve` in its own process, on SQLite or a
fresh PostgreSQL database, so the figures include real HTTP and a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from tillcrm.server import admin
from tillcrm.server import demo_data as demo
from tillcrm.server.db import create_db_engine, writing
from tillcrm.server.migrate import upgrade

__all__ = [
    "ServedCrm",
    "demo_crm",
    "enrollment_code",
    "fresh_postgres",
    "postgres_cpu_seconds",
    "served",
    "served_crm",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_postgres(base_url: str) -> Iterator[str]:
    """A new PostgreSQL database beside `base_url`'s, dropped afterwards."""
    name = f"tillcrm_bench_{uuid.uuid4().hex[:10]}"
    admin_engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


@dataclass(frozen=True)
class ServedCrm:
    """A running `tillcrm crm serve`: its root URL (the API is under `/v1`) and process."""

    root: str
    pid: int

    def cpu_seconds(self) -> float:
        """The serve process's CPU time so far (user and system; Linux `/proc`)."""
        return _process_cpu_seconds(self.pid)


def _process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(db_url: str) -> float | None:
    """CPU time so far of the PostgreSQL backends connected to `db_url`'s database, when
    PostgreSQL runs on this machine (its processes readable in `/proc`); None otherwise. A
    CRM on PostgreSQL spends much of a request there, outside its own process."""
    marker = f" {db_url.rsplit('/', 1)[1]} ".encode()
    total, seen = 0.0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if command.startswith(b"postgres:") and marker in command:
                total += _process_cpu_seconds(int(entry.name))
                seen = True
        except OSError:  # the process ended meanwhile, or is not ours to read
            continue
    return total if seen else None


@contextmanager
def served(db_url: str, workdir: Path) -> Iterator[str]:
    """`tillcrm crm serve` on `db_url` until the block ends; yields its root URL (the API is
    under `/v1`)."""
    with served_crm(db_url, workdir) as crm:
        yield crm.root


@contextmanager
def served_crm(db_url: str, workdir: Path) -> Iterator[ServedCrm]:
    """`served`, yielding the process too (to read its CPU time)."""
    port = _free_port()
    config = workdir / "config.toml"
    config.write_text("")
    log = (workdir / f"serve-{port}.log").open("w")
    command = [
        str(Path(sys.executable).with_name("tillcrm")),
        *("--config", str(config), "crm", "serve", "--db", db_url, "--port", str(port)),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the CRM did not start; see {log.name}")
            try:
                httpx.get(f"{root}/v1/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield ServedCrm(root, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def demo_crm(db_url: str, count: int) -> str:
    """A CRM database at `db_url` with the demo data of `count` customers; returns an
    enrollment code at the demo store."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        demo.load_demo_data(engine, customers_count=count, seed=1)
    finally:
        engine.dispose()
    return enrollment_code(db_url)


def enrollment_code(db_url: str) -> str:
    """A new one-time code that enrolls a till at the demo store of the CRM at `db_url`."""
    engine = create_db_engine(db_url)
    try:
        with writing(engine) as conn:
            return admin.issue_enrollment_code(conn, demo.DEMO_STORE_ID)
    finally:
        engine.dispose()
