"""`tillcrm register`: enroll this till with the CRM using a one-time code.

The keyring is checked before the code is spent, because a code works once: a till that
enrolled but could not keep its token would need a new code from the back office.
"""

from __future__ import annotations

import asyncio

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.config import config_path, save_registration
from tillcrm.crm import CrmClient, CrmError, NoTokenError, keyring_problem, store_token

__all__ = ["register"]


@click.command()
@click.option("--crm-url", required=True, help="Base URL of the CRM, e.g. https://crm.example.")
@click.option(
    "--code", required=True, help="One-time enrollment code from `tillcrm crm enroll-till`."
)
@click.option("--name", default=None, help="Till name for the status bar (default: from config).")
@click.option(
    "--print-token",
    is_flag=True,
    help="Print the token for TILLCRM_TOKEN instead of storing it in the keyring (services).",
)
@pass_cli
def register(cli: CliContext, crm_url: str, code: str, name: str | None, print_token: bool) -> None:
    """Exchange CODE for this till's token and write the till's identity to the config."""
    settings = cli.settings
    if not print_token and (problem := keyring_problem()):
        raise click.ClickException(problem)
    till_name = name or settings.till.name

    async def enroll() -> tuple[str, str, str]:
        async with CrmClient(
            crm_url,
            connect_timeout=settings.crm.connect_timeout,
            read_timeout=settings.crm.read_timeout,
            ca_bundle=settings.crm.ca_bundle,
        ) as client:
            answer = await client.enroll(code.strip(), till_name)
        ctx = answer.context
        where = f"store {ctx.store.name} ({ctx.brand.name}, {ctx.organization.name})"
        return answer.token, ctx.till_id, where

    try:
        token, till_id, where = asyncio.run(enroll())
    except CrmError as exc:
        raise click.ClickException(f"enrollment failed: {exc}") from exc
    if print_token:
        click.echo(f"TILLCRM_TOKEN={token}")
    else:
        try:
            store_token(till_id, token)
        except NoTokenError as exc:
            raise click.ClickException(str(exc)) from exc
    path = config_path(cli.config_path)
    save_registration(path, till_id=till_id, till_name=till_name, crm_url=crm_url)
    click.echo(f"registered till {till_id} ({till_name}) at {where}; identity saved in {path}")
