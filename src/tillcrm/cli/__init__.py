"""The `tillcrm` command: the till itself and its sub-commands.

Each group of sub-commands lives in its own module, imported only when that sub-command runs
(or `--help` lists them), so starting the till imports neither the CRM server nor the other
sub-commands, and `tillcrm crm ...` never imports Textual.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from tillcrm import __version__
from tillcrm.cli._context import pass_config

__all__ = ["main"]

_SUB_COMMANDS = {
    "config": "tillcrm.cli.config_cmd:config",
    "crm": "tillcrm.cli.crm:crm",
    "demo": "tillcrm.cli.demo:demo",
    "devices": "tillcrm.cli.devices:devices",
    "doctor": "tillcrm.cli.doctor:doctor",
    "register": "tillcrm.cli.register:register",
    "sync": "tillcrm.cli.sync_cmd:sync",
}
"""Each sub-command's name and where it is defined (`module:attribute`)."""


class _LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use, from `_SUB_COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every sub-command, without importing one."""
        return sorted(_SUB_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The sub-command `cmd_name`, its module imported now; None for an unknown name."""
        where = _SUB_COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $TILLCRM_CONFIG, else the per-user config file).",
)
@click.version_option(__version__, prog_name="tillcrm")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """tillcrm: a customer-aware till and its reference CRM. Without a command: run the till."""
    ctx.obj = pass_config(config_path)
    if ctx.invoked_subcommand is None:
        from tillcrm.cli.run import run_till

        run_till(ctx.obj)
