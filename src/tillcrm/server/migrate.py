"""Alembic migrations, run from code so `tillcrm crm serve` brings any database up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade"]

_HERE = Path(__file__).parent


def alembic_config(db_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and `db_url`."""
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    config.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    return config


def upgrade(db_url: str) -> None:
    """Apply every migration not yet applied to `db_url`."""
    command.upgrade(alembic_config(db_url), "head")
