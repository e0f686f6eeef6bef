"""A real reference CRM for tests: uvicorn on a free loopback port, on a real database.

SQLite always; PostgreSQL too when `TILLCRM_TEST_PG_URL` is set, each server on a database of
its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn

from tillcrm.server.app import create_app
from tillcrm.server.pages_ahead import PagesAhead
from tillcrm.server.request_limits import MAX_BODY_BYTES

PG_URL_ENV = "TILLCRM_TEST_PG_URL"


def database_kinds() -> list[str]:
    """The databases the CRM tests run on here."""
    return ["sqlite", "postgresql"] if os.environ.get(PG_URL_ENV) else ["sqlite"]


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    """A new, empty database of `kind`; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / f'crm-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    base = os.environ[PG_URL_ENV]
    name = f"tillcrm_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningCrm:
    """A CRM serving HTTP on loopback, and its engine for direct reads in assertions."""

    url: str
    db_url: str
    engine: sa.Engine
    pages_ahead: PagesAhead

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for this CRM, as the till holding `token`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/v1", headers=headers, timeout=30)


@contextmanager
def serve_crm(
    db_url: str, port: int | None = None, *, max_body_bytes: int = MAX_BODY_BYTES
) -> Iterator[RunningCrm]:
    """Run the CRM on `db_url` in a uvicorn thread until the block ends, reading request
    bodies of up to `max_body_bytes`."""
    app = create_app(db_url, max_body_bytes=max_body_bytes)
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"crm:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the CRM did not start")
        time.sleep(0.01)
    try:
        yield RunningCrm(
            url=f"http://127.0.0.1:{port}",
            db_url=db_url,
            engine=app.state.engine,
            pages_ahead=app.state.pages_ahead,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
