"""Lazy config loading shared by every sub-command.

The config module (pydantic, pydantic-settings) is imported when a command first asks for the
settings, not when the command line is parsed: the till paints its login form before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from tillcrm.config import ConfigError, Settings


@dataclass
class CliContext:
    """What the root command hands to sub-commands: the config, loaded on first use."""

    config_path: Path | None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The loaded config; a bad config prints one line per problem and exits 2."""
        from tillcrm.config import ConfigError

        try:
            return self.load_settings()
        except ConfigError as exc:
            refuse_config(exc)

    def load_settings(self) -> Settings:
        """The loaded config; raises `ConfigError` for a bad one (the till loads it behind its
        login form and reports the problems once the terminal is restored)."""
        if self._settings is None:
            from tillcrm.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings


def refuse_config(error: ConfigError) -> NoReturn:
    """Print one line per problem of a bad config and exit 2."""
    for problem in error.problems:
        click.echo(f"config error: {problem}", err=True)
    raise SystemExit(2) from error


def pass_config(config_path: Path | None) -> CliContext:
    """Build the context object the root command stores in `ctx.obj`."""
    return CliContext(config_path)


pass_cli = click.make_pass_decorator(CliContext)
"""Decorator giving a sub-command the `CliContext`."""
