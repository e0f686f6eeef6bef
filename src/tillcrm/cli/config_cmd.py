"""`tillcrm config ...`: check a config file before a till is started with it."""

from __future__ import annotations

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.config import config_path

__all__ = ["config"]


@click.group()
def config() -> None:
    """Check the till's configuration."""


@config.command("check")
@pass_cli
def check(cli: CliContext) -> None:
    """Load the config; print each problem on its own line and exit 2, or say OK."""
    settings = cli.settings
    path = config_path(cli.config_path)
    summary = f"{len(settings.devices)} device(s), CRM {settings.crm.url}"
    if not path.exists():
        # Not an error (every key has a default), but an installer must not read it as "checked".
        click.echo(f"{path}: no such file; the defaults apply ({summary})")
        click.echo("start from config.example.toml, or point --config / TILLCRM_CONFIG at one")
        return
    click.echo(f"{path}: OK ({summary})")
