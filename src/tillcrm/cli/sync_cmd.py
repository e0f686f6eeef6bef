"""`tillcrm sync --once|--forever|--status|--renumber`: sync by hand or as a service, look at
the queue, and move a queue the CRM stopped taking.

`--once` is what an installer runs to see a till sync (or why it cannot): one push of every
due op, one pull of every change (a first, full pull with a progress bar), then the queue
as it stands. `--forever` is the till's
sync-only mode for a service (deploy/systemd/tillcrm-sync.service): the till's own sync loop
without its screens, until SIGTERM, so a queue left after closing time still reaches the CRM
and the cache stays fresh for the morning. Both take the till lock, so they refuse while the
till itself runs. `--status` only reads the database, so it also works beside a running till.
`--renumber` gives the unsent ops the seqs after the CRM's last one when the CRM stopped
taking them (a till restored from an old copy of its database).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import UTC, datetime

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.cli._progress import customer_progress
from tillcrm.cli._till import crm_client, read_only_database, till_db_path, writable_database
from tillcrm.config import SyncSettings
from tillcrm.crm import CrmClient
from tillcrm.local import NOT_STOPPED, Meta, OpState, Outbox, TillDatabase
from tillcrm.logs import start_till_logging
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
    blocking = outbox.blocking(head)
    blocked = [f"blocked: {blocking}"] if blocking else []
    return [
        f"queue: {outbox.depth()} op(s) waiting{age}",
        *blocked,
        f"dead: {outbox.count(OpState.DEAD)} rejected op(s) to compensate",
        f"needs review: {outbox.count(OpState.NEEDS_REVIEW)} op(s)",
        f"pull: {'at cursor ' + cursor if cursor else 'never pulled'}",
    ]


def _renumber(db: TillDatabase) -> None:
    """`--renumber`: the fix a blocked queue names (see `Outbox.renumber_unsent`)."""
    if Meta(db).seq_stop() is None:
        raise click.ClickException(NOT_STOPPED)
    moved = Outbox(db).renumber_unsent()
    click.echo(f"renumbered: {moved} unsent op(s); run `tillcrm sync --once` to send them")


@click.command("sync")
@click.option("--once", "mode", flag_value="once", help="Push the queue and pull changes, once.")
@click.option(
    "--forever",
    "mode",
    flag_value="forever",
    help="Sync every [sync] interval until SIGTERM or Ctrl+C: a service's sync-only mode.",
)
@click.option("--status", "mode", flag_value="status", help="Show the queue; change nothing.")
@click.option(
    "--renumber",
    "mode",
    flag_value="renumber",
    help="Renumber the unsent ops after the CRM's last seq, when it stopped taking them.",
)
@pass_cli
def sync(cli: CliContext, mode: str | None) -> None:
    """Sync this till with the CRM once or until stopped, show where its queue stands, or
    renumber it."""
    settings = cli.settings
    if mode is None:
        raise click.UsageError("give --once, --forever, --status or --renumber")
    if mode == "renumber":
        with writable_database(settings) as stopped:
            _renumber(stopped)
        return
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
    start_till_logging(settings.logs)
    client = crm_client(settings)
    with writable_database(settings) as db:
        try:
            Meta(db).claim_till_id(settings.till.id)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if mode == "forever":
            asyncio.run(_sync_until_stopped(db, client, settings.sync))
            return

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
    if status.blocking:
        raise click.ClickException(f"sync {status.label}, not sending: {status.blocking}")


async def _sync_until_stopped(db: TillDatabase, client: CrmClient, settings: SyncSettings) -> None:
    """Run the till's sync loop until SIGTERM (a service stopped) or SIGINT; the round under
    way finishes first, so no op is left inflight. Each change of the sync status is one line
    on stdout, for the journal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def report(status: SyncStatus) -> None:
        problem = f": {status.problem}" if status.problem else ""
        click.echo(
            f"sync {status.label}{problem}; queue {status.queue_depth} op(s), "
            f"dead {status.dead}, needs review {status.needs_review}"
        )

    async with client:
        await SyncEngine(db, client, settings, on_status=report).run(stop)
