"""`tillcrm crm ...`: run and administer the reference CRM service.

The CRM's packages (FastAPI, SQLAlchemy, Alembic, uvicorn) are an optional extra, so they are
imported inside each command: the till starts without them, and a machine without the extra gets
one line naming the install command instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from tillcrm.cli._context import CliContext, pass_cli
from tillcrm.cli._progress import customer_progress

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["KNOWN_DEMO_CUSTOMERS", "crm"]

_SERVER_PACKAGES = ("fastapi", "sqlalchemy", "alembic", "uvicorn")
MAX_SETTING_KEY = 64
MAX_SETTING_VALUE = 500
"""The sizes of `org_settings.key` and `.value`."""
_DB_HELP = "SQLAlchemy database URL (default: [server] db, else SQLite in the data dir)."


def _require_server_extra() -> None:
    """Refuse in one line when the `[server]` extra is not installed."""
    missing = [name for name in _SERVER_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"the CRM needs {', '.join(missing)}: pip install 'tillcrm[server]'"
        )


def _database(cli: CliContext, db_url: str | None) -> str:
    """`--db`, else the config's `[server] db`, else SQLite under the data dir."""
    from tillcrm.server.db import default_db_url

    settings = cli.settings
    return db_url or settings.server.db or default_db_url(settings.data_dir)


def _migrated_engine(url: str) -> Engine:
    """An engine on `url` with the schema brought up to date first."""
    from tillcrm.server.db import create_db_engine
    from tillcrm.server.migrate import upgrade

    upgrade(url)
    return create_db_engine(url)


@click.group()
def crm() -> None:
    """Run and administer the reference CRM service."""


@crm.command()
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@click.option("--host", default=None, help="Address to listen on (default: [server] host).")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on (default: [server] port).",
)
@pass_cli
def serve(cli: CliContext, db_url: str | None, host: str | None, port: int | None) -> None:
    """Bring the database up to date and serve the CRM API until interrupted."""
    _require_server_extra()
    import uvicorn

    from tillcrm.server.app import create_app
    from tillcrm.server.logs import start_crm_logging

    start_crm_logging()
    settings = cli.settings
    url = _database(cli, db_url)
    app = create_app(url)
    host = host or settings.server.host
    port = port or settings.server.port
    logging.getLogger(__name__).info(
        "tillcrm CRM on http://%s:%s/v1 (database %s)", host, port, _safe(url)
    )
    # uvicorn's own lines join ours as JSON (log_config=None); its access log would repeat
    # each request with its query string, so `RequestLog` writes the one request line.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")


@crm.command()
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@pass_cli
def migrate(cli: CliContext, db_url: str | None) -> None:
    """Bring the database's schema up to date and exit.

    `serve` does this too; a deployment runs it once before starting several CRM processes
    (deploy/compose.yaml), so they never race one another's migrations."""
    _require_server_extra()
    from tillcrm.server.migrate import upgrade

    url = _database(cli, db_url)
    upgrade(url)
    click.echo(f"database {_safe(url)} is up to date")


KNOWN_DEMO_CUSTOMERS = 20
"""`len(server.demo_data.DEMO_CUSTOMERS)`, the fewest customers a demo load takes, known here
without importing the CRM (its extra may not be installed)."""


@crm.command("demo-data")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@click.option(
    "--customers",
    type=click.IntRange(KNOWN_DEMO_CUSTOMERS, 10_000_000),
    default=2_000,
    show_default=True,
    help=f"How many customers (the first {KNOWN_DEMO_CUSTOMERS} are the well-known ones).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@pass_cli
def demo_data(cli: CliContext, db_url: str | None, customers: int, seed: int) -> None:
    """Load the demo organizations, operators, customers, cards and history."""
    _require_server_extra()
    from tillcrm.server import demo_data as demo

    url = _database(cli, db_url)
    engine = _migrated_engine(url)
    started = time.perf_counter()

    try:
        with customer_progress("Loading demo customers", customers) as update:
            summary = demo.load_demo_data(
                engine,
                customers_count=customers,
                seed=seed,
                progress=lambda done: update(done, customers),
            )
    except demo.DemoAlreadyLoadedError as exc:
        raise click.ClickException(f"{exc} ({_safe(url)}); use a fresh database") from exc
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    click.echo(
        f"loaded {summary.customers:,} customers, {summary.identifiers:,} cards and "
        f"{summary.transactions:,} past sales into {_safe(url)} in {seconds:.1f} s"
    )
    click.echo(
        f"operators in every organization: cashier {demo.CASHIER_CODE} PIN {demo.CASHIER_PIN}, "
        f"supervisor {demo.SUPERVISOR_CODE} PIN {demo.SUPERVISOR_PIN} "
        f"(badge {demo.SUPERVISOR_BADGE})"
    )
    known = demo.DEMO_CUSTOMERS[0]
    click.echo(
        f"demo customer {known.first_name} {known.last_name}: barcode {demo.DEMO_BARCODE}, "
        f"magstripe {demo.DEMO_MAGSTRIPE}, rfid {demo.DEMO_RFID}, phone {demo.DEMO_PHONE}"
    )
    click.echo(f"enroll a till: tillcrm crm enroll-till --store {demo.DEMO_STORE_ID}")


@crm.command("enroll-till")
@click.option("--store", "store_id", required=True, help="The store the till will stand in.")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@pass_cli
def enroll_till(cli: CliContext, store_id: str, db_url: str | None) -> None:
    """Print a one-time code that enrolls one till at STORE within 24 hours."""
    _require_server_extra()
    import sqlalchemy as sa

    from tillcrm.server.admin import ENROLLMENT_CODE_TTL, issue_enrollment_code
    from tillcrm.server.db import writing
    from tillcrm.server.tables import stores

    settings = cli.settings
    url = _database(cli, db_url)
    engine = _migrated_engine(url)
    try:
        with writing(engine) as conn:
            known = conn.execute(sa.select(stores.c.id).order_by(stores.c.id)).scalars().all()
            if store_id not in known:
                listed = ", ".join(known[:20]) or "none (load some with `tillcrm crm demo-data`)"
                raise click.ClickException(f"no store {store_id!r}; stores: {listed}")
            code = issue_enrollment_code(conn, store_id)
    finally:
        engine.dispose()
    hours = int(ENROLLMENT_CODE_TTL.total_seconds() // 3600)
    crm_url = f"http://{settings.server.host}:{settings.server.port}"
    click.echo(code)
    click.echo(
        f"one-time code for a till at {store_id}, valid {hours} h; on the till run:\n"
        f"  tillcrm register --crm-url {crm_url} --code {code}",
        err=True,
    )


@crm.command("revoke-till")
@click.argument("till_id", metavar="TILL")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@pass_cli
def revoke_till(cli: CliContext, till_id: str, db_url: str | None) -> None:
    """Revoke TILL's token at once (a stolen or retired till): the CRM refuses its next
    request. Its ops stay; to use the till again, enroll it with a new code."""
    _require_server_extra()
    from tillcrm.server import admin
    from tillcrm.server.db import writing

    engine = _migrated_engine(_database(cli, db_url))
    try:
        with writing(engine) as conn:
            revoked_at = admin.revoke_till(conn, till_id)
    finally:
        engine.dispose()
    if revoked_at is None:
        raise click.ClickException(f"no till {till_id!r}")
    click.echo(f"till {till_id} revoked since {revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@crm.command("overrides-to-review")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@pass_cli
def overrides_to_review(cli: CliContext, limit: int, db_url: str | None) -> None:
    """List the overrides the CRM accepted without verifying the supervisor itself (given
    while the till was offline), newest first: who approved whose action, where and why."""
    _require_server_extra()
    from tillcrm.server import admin
    from tillcrm.server.db import reading

    engine = _migrated_engine(_database(cli, db_url))
    try:
        with reading(engine) as conn:
            found = admin.overrides_to_review(conn, limit=limit)
    finally:
        engine.dispose()
    if not found:
        click.echo("no overrides to review")
    for item in found:
        click.echo(
            f"{item.used_at:%Y-%m-%d %H:%M:%S} till {item.till_id} op {item.op_id}: "
            f"{item.supervisor_id} approved {item.cashier_id}'s action: {item.reason}"
        )


@crm.command()
@click.option("--org", "org_id", required=True, help="The organization to report on.")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="First day included.")
@click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="Day after the last one.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (money in minor units), not a table.")
@pass_cli
def report(
    cli: CliContext,
    org_id: str,
    db_url: str | None,
    since: datetime | None,
    until: datetime | None,
    as_csv: bool,
) -> None:
    """Visits, sales, points issued and redeemed, stored value used: per unit and in total."""
    _require_server_extra()
    from tillcrm.server.db import reading
    from tillcrm.server.report import org_report

    engine = _migrated_engine(_database(cli, db_url))
    try:
        with reading(engine) as conn:
            made = org_report(
                conn,
                org_id,
                since=since.replace(tzinfo=UTC) if since else None,
                until=until.replace(tzinfo=UTC) if until else None,
            )
    except LookupError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    finally:
        engine.dispose()
    click.echo(made.csv() if as_csv else made.table(cli.settings.locale.locale), nl=not as_csv)


@crm.command("define-field")
@click.option("--org", "org_id", required=True, help="The organization defining the field.")
@click.option("--name", required=True, help="The field's name in customer records.")
@click.option(
    "--kind",
    type=click.Choice(["custom", "extended"]),
    default="custom",
    show_default=True,
    help="A custom field of the org's own, or one of the CRM's extended fields.",
)
@click.option("--label", default="", help="What the till shows beside the value.")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@pass_cli
def define_field(
    cli: CliContext, org_id: str, name: str, kind: str, label: str, db_url: str | None
) -> None:
    """Define an extended or custom customer field (a connected parent's are shared with its
    children; a child's are private to it)."""
    _require_server_extra()
    from pydantic import ValidationError

    from tillcrm.domain.org_fields import FieldDefinition, FieldKind
    from tillcrm.server import org_config

    try:
        definition = FieldDefinition(org_id=org_id, name=name, kind=FieldKind(kind), label=label)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise click.ClickException(f"{first['loc'][0]}: {first['msg']}") from exc
    with _admin_connection(cli, db_url, org_id, brands_too=False) as conn:
        org_config.define_field(conn, definition)
    click.echo(f"{org_id} defines {kind} field {name!r}")


@crm.command("set")
@click.option("--owner", "owner_id", required=True, help="An organization, brand or unit id.")
@click.argument("key")
@click.argument("value")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
@pass_cli
def set_setting(cli: CliContext, owner_id: str, key: str, value: str, db_url: str | None) -> None:
    """Set a configuration KEY to VALUE for an organization, brand or unit (a connected
    parent's settings override its children's; a unit's override its organization's)."""
    _require_server_extra()
    from tillcrm.server import org_config

    if not 1 <= len(key) <= MAX_SETTING_KEY or len(value) > MAX_SETTING_VALUE:
        raise click.ClickException(
            f"a setting's key is 1 to {MAX_SETTING_KEY} characters "
            f"and its value at most {MAX_SETTING_VALUE}"
        )
    with _admin_connection(cli, db_url, owner_id, brands_too=True) as conn:
        org_config.put_setting(conn, owner_id, key, value)
    click.echo(f"{owner_id}: {key} = {value}")


@contextmanager
def _admin_connection(
    cli: CliContext, db_url: str | None, owner_id: str, *, brands_too: bool
) -> Iterator[Connection]:
    """A write transaction on the CRM's database; refused when `owner_id` names no
    organization there (nor a brand, with `brands_too`)."""
    import sqlalchemy as sa

    from tillcrm.server.db import writing
    from tillcrm.server.tables import brands, organizations

    engine = _migrated_engine(_database(cli, db_url))
    try:
        with writing(engine) as conn:
            known = list(conn.execute(sa.select(organizations.c.id)).scalars())
            if brands_too:
                known += conn.execute(sa.select(brands.c.id)).scalars()
            if owner_id not in known:
                what = "organization or brand" if brands_too else "organization"
                listed = ", ".join(sorted(known)[:20]) or "none"
                raise click.ClickException(f"no {what} {owner_id!r}; known: {listed}")
            yield conn
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
