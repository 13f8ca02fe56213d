"""`podsponsor lists`: load the measurement reference lists into the database, and show which versions are in use.

The loader runs as the runtime role (the app's own database user): reference tables are global and append-only for
it, so the same command works from a shell, a cron job or the worker, and needs no owner credentials.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Annotated

import typer

from podsponsor.cli_output import fail
from podsponsor.config import get_settings

if TYPE_CHECKING:
    from podsponsor.measurement.models import ReferenceListVersion
    from podsponsor.measurement.service import LoadResult

app = typer.Typer(
    name="lists",
    help="Measurement reference lists: OPAWG user agents, podcast prefixes, ipcat data centres.",
    no_args_is_help=True,
)


@app.command()
def update(
    sources: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            help="A folder or http(s) address holding the list files (bots.json … referrers.json, prefixes.json, "
            "datacenters.csv), or one such file; repeat to combine. Default: the lists' public addresses.",
        ),
    ] = None,
) -> None:
    """Load the reference lists; a list whose content is already loaded is left as it is.

    Each list becomes a new version (kept, never edited) and the active one; counts record the versions they used.
    Every file is checked before anything is loaded: one bad file loads nothing."""
    from podsponsor.cli_runtime import with_database

    results, absent = with_database(get_settings(), _update(sources or []))
    for result in results:
        typer.echo(
            f"{result.kind:<12} {result.outcome:<11} {result.entry_count:>6} entries  version {result.version_id}  "
            f"sha256 {result.sha256[:12]}  from {result.source}"
        )
    if absent:
        typer.echo(f"not in the given sources, kept as they were: {', '.join(absent)}")


async def _update(sources: list[str]) -> tuple[list[LoadResult], list[str]]:
    from podsponsor.db.tenancy import unscoped_transaction
    from podsponsor.measurement import lists, service
    from podsponsor.measurement.exceptions import ListFormatError, ListSourceError

    try:
        files, absent = await lists.read_sources(sources)
        if not files:
            fail(f"no list files found in {', '.join(sources)} (expected {', '.join(lists.FILE_NAMES.values())})")
        async with unscoped_transaction() as session:
            results = await service.update_lists(session, files)
    except ListSourceError as exc:
        fail(f"{exc.detail}. Load from a local copy with --from PATH.")
    except ListFormatError as exc:
        for error in exc.errors or []:
            where = " ".join(str(error[key]) for key in ("field", "line", "name") if error.get(key) is not None)
            typer.secho(f"error: {where}: {error['reason']}", err=True, fg=typer.colors.RED)
        fail(exc.detail)
    return list(results), absent


@app.command()
def show() -> None:
    """The reference lists in use: version, entries, when loaded, content hash and source."""
    from podsponsor.cli_runtime import with_database

    versions, counts = with_database(get_settings(), _show())
    if not versions:
        typer.echo("no reference lists are loaded yet: run `podsponsor lists update`")
        return
    for version in versions:
        typer.echo(
            f"{version.kind:<12} {version.entry_count:>6} entries  version {version.id}  "
            f"active since {version.activated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC  sha256 {version.sha256[:12]}  "
            f"{counts.get(version.kind, 1)} version(s) kept  from {version.source}"
        )


async def _show() -> tuple[list[ReferenceListVersion], dict[str, int]]:
    from podsponsor.db.tenancy import unscoped_transaction
    from podsponsor.measurement import service

    async with unscoped_transaction() as session:
        return list(await service.active_versions(session)), await service.version_counts(session)
