"""`podsponsor demo`: embedded PostgreSQL, migrations, demo data, then the web app and the worker in one process."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
import uvicorn

from podsponsor.app import create_app
from podsponsor.cli_output import fail
from podsponsor.cli_runtime import ServiceFailed, exit_on_signals, run_services
from podsponsor.config import Settings
from podsponsor.db import embedded, engine, migrate
from podsponsor.db.bootstrap import DatabaseUrls

if TYPE_CHECKING:
    from podsponsor.demo import DemoLogin


def run_demo(settings: Settings, *, host: str, port: int, seed: int, concurrency: int) -> None:
    exit_on_signals()
    try:
        typer.echo(f"Starting the database ({_where(settings)}) …")
        urls = engine.resolve_urls(settings)
        migrate.upgrade(urls.owner, settings.db_runtime_role)
        asyncio.run(_serve_demo(settings, urls, host=host, port=port, seed=seed, concurrency=concurrency))
    except ServiceFailed as exc:
        fail(f"{exc}; the demo stopped")
    finally:
        # Released here, not only at exit, so the next `podsponsor demo` finds the server stopped and its data kept.
        embedded.stop()
    typer.echo("podsponsor demo stopped; its data stays for the next run.")


def _where(settings: Settings) -> str:
    return f"embedded, in {settings.pgdata}" if settings.embedded else "DATABASE_URL"


async def _serve_demo(
    settings: Settings, urls: DatabaseUrls, *, host: str, port: int, seed: int, concurrency: int
) -> None:
    engine.configure(settings, urls)
    try:
        logins = await load_demo(seed)
        config = uvicorn.Config(
            create_app(settings), host=host, port=port, log_config=None, lifespan="on", proxy_headers=False
        )
        worker = {"concurrency": concurrency, "shutdown_graceful_timeout": 10.0}
        await run_services(
            uvicorn.Server(config), worker, on_listening=lambda: typer.echo(banner(f"http://{host}:{port}", logins))
        )
    finally:
        await engine.dispose()


async def load_demo(seed: int) -> Sequence[DemoLogin]:
    """Load the demo workspaces unless they exist; their sign-ins either way (loading is idempotent)."""
    from podsponsor.demo import demo_loaded, load_demo_data

    if await demo_loaded():
        typer.echo("Demo data is already in the database; reusing it.")
    else:
        typer.echo(f"Loading demo data (seed {seed}) …")
    summary = await load_demo_data(seed)
    typer.echo(
        f"{summary.tenants} workspaces, {summary.shows} shows, {summary.episodes} episodes, "
        f"{summary.sponsors} sponsors, {summary.campaigns} deals, {summary.users} users; "
        f"{summary.hits} prefix hits counted into {summary.downloads} downloads; {summary.ios} insertion orders."
    )
    return summary.logins


def logins_table(logins: Sequence[DemoLogin]) -> str:
    header = ("workspace", "role", "e-mail", "password")
    rows = [header, *((login.workspace, login.role, login.email, login.password) for login in logins)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(["Sign in with any of these demo accounts:", *(f"  {line}" for line in lines)])


def banner(url: str, logins: Sequence[DemoLogin]) -> str:
    return f"\npodsponsor is running at {url}  (Ctrl-C stops it)\n\n{logins_table(logins)}\n"
