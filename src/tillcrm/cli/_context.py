"""Lazy config loading shared by every sub-command.

The config module (pydantic, pydantic-settings) is imported when a command first asks for the
settings, not when the command line is parsed: the till paints its login form before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tillcrm.config import Settings


@dataclass
class CliContext:
    """What the root command hands to sub-commands: the config, loaded on first use."""

    config_path: Path | None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The loaded config; a bad config prints one line per problem and exits 2."""
        if self._settings is None:
            from tillcrm.config import ConfigError, load_settings

            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"config error: {problem}", err=True)
                raise SystemExit(2) from exc
        return self._settings


def pass_config(config_path: Path | None) -> CliContext:
    """Build the context object the root command stores in `ctx.obj`."""
    return CliContext(config_path)


pass_cli = click.make_pass_decorator(CliContext)
"""Decorator giving a sub-command the `CliContext`."""
