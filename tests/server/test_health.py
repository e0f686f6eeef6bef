"""`/v1/health` answers for the CRM and its database: a CRM whose database is gone says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.crm_server import database_kinds, fresh_database, serve_crm


def _lose(db_url: str) -> None:
    """Take the database away under the running CRM, as a crashed disk or server would."""
    if db_url.startswith("sqlite"):
        with open(db_url.removeprefix("sqlite:///"), "r+b") as file:
            file.write(b"\0" * 4096)
        return
    name = db_url.rsplit("/", 1)[1]
    admin = sa.create_engine(db_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.mark.parametrize("kind", database_kinds())
def test_health_answers_503_once_the_database_is_gone(kind: str, tmp_path: Path) -> None:
    with fresh_database(kind, tmp_path) as db_url, serve_crm(db_url) as crm:
        with crm.client() as http:
            up = http.get("/health")
            assert up.status_code == 200
            assert up.json()["status"] == "ok"
            crm.engine.dispose()
            _lose(db_url)
            down = http.get("/health")
        assert down.status_code == 503
        assert down.json()["code"] == "database_unavailable"
