"""`tillcrm sync --once` and `tillcrm sync --status`: sync by hand, and look at the queue.

`--once` is what an installer runs to see a till sync (or why it cannot): one push of every
due op, one pull of every change (a first, full pull with a progress bar), then the queue as
it stands; it takes the till lock, so it
refuses while the till itself runs. `--status` only reads the database, so it also works
beside a running till.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.cli._progress import customer_progress
from tillcrm.cli._till import crm_client, read_only_database, till_db_path, writable_database
from tillcrm.local import Meta, OpState, Outbox, TillDatabase
from tillcrm.sync import SyncEngine, SyncStatus

__all__ = ["queue_lines", "sync"]


def queue_lines(db: TillDatabase) -> list[str]:
    """The outbox and the pull position, one fact a line."""
    outbox = Outbox(db)
    head = outbox.head()
    age = (
        f", oldest {int((datetime.now(UTC) - head.local_ts).total_seconds())} s old"
        if head is not None
        else ""
    )
    cursor = Meta(db).cursor()
    blocked = [f"blocked: {head.blocking}"] if head is not None and head.blocking else []
    return [
        f"queue: {outbox.depth()} op(s) waiting{age}",
        *blocked,
        f"dead: {outbox.count(OpState.DEAD)} rejected op(s) to compensate",
        f"needs review: {outbox.count(OpState.NEEDS_REVIEW)} op(s)",
        f"pull: {'at cursor ' + cursor if cursor else 'never pulled'}",
    ]


@click.command("sync")
@click.option("--once", "mode", flag_value="once", help="Push the queue and pull changes, once.")
@click.option("--status", "mode", flag_value="status", help="Show the queue; change nothing.")
@pass_cli
def sync(cli: CliContext, mode: str | None) -> None:
    """Sync this till with the CRM once, or show where its queue stands."""
    settings = cli.settings
    if mode is None:
        raise click.UsageError("give --once or --status")
    if mode == "status":
        db = read_only_database(settings)
        if db is None:
            click.echo(f"no till database yet at {till_db_path(settings)}")
            return
        try:
            for line in queue_lines(db):
                click.echo(line)
        finally:
            db.close()
        return
    if not settings.till.id:
        raise click.ClickException("this till is not registered: run `tillcrm register`")
    client = crm_client(settings)
    with writable_database(settings) as db:
        try:
            Meta(db).claim_till_id(settings.till.id)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc

        async def once(update: Callable[[int, int], None]) -> tuple[int, int, SyncStatus]:
            async with client:
                engine = SyncEngine(
                    db,
                    client,
                    settings.sync,
                    on_pull_progress=lambda progress: update(progress.done, progress.total),
                )
                pushed = await engine.push_once()
                pulled = await engine.pull_once()
                return pushed, pulled, engine.status()

        with customer_progress("Pulling customers") as update:
            pushed, pulled, status = asyncio.run(once(update))
        click.echo(f"pushed: {pushed} op(s) answered by the CRM")
        click.echo(f"pulled: {pulled} customer(s)")
        for line in queue_lines(db):
            click.echo(line)
    if status.problem:
        raise click.ClickException(f"sync {status.label}: {status.problem}")
