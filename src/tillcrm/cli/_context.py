"""Lazy config loading shared by every sub-command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from tillcrm.config import ConfigError, Settings, load_settings


@dataclass
class CliContext:
    """What the root command hands to sub-commands: the config, loaded on first use."""

    config_path: Path | None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The loaded config; a bad config prints one line per problem and exits 2."""
        if self._settings is None:
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
