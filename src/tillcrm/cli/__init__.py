"""The `tillcrm` command: the till itself and its sub-commands.

Each group of sub-commands lives in its own module and is attached here, so that starting the till
never imports the CRM server and `tillcrm crm ...` never imports Textual.
"""

from __future__ import annotations

from pathlib import Path

import click

from tillcrm import __version__
from tillcrm.cli._context import pass_config
from tillcrm.cli.config_cmd import config
from tillcrm.cli.crm import crm
from tillcrm.cli.demo import demo
from tillcrm.cli.devices import devices
from tillcrm.cli.doctor import doctor
from tillcrm.cli.register import register
from tillcrm.cli.run import run_till
from tillcrm.cli.sync_cmd import sync

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
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
        run_till(ctx.obj)


main.add_command(config)
main.add_command(crm)
main.add_command(demo)
main.add_command(devices)
main.add_command(doctor)
main.add_command(register)
main.add_command(sync)
