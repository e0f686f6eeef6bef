"""`tillcrm crm ...`: run and administer the reference CRM service."""

from __future__ import annotations

import click

__all__ = ["crm"]


@click.group()
def crm() -> None:
    """Run and administer the reference CRM service."""
