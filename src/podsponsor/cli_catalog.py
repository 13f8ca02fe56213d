"""`podsponsor catalog`: shows and episodes from a shell. `fetch-transcripts` downloads the transcripts feeds name
for episodes that have none yet, workspace by workspace, reporting each episode as it finishes.

Heavy modules are imported when a command runs, so `podsponsor --help` stays quick.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from podsponsor.cli_output import fail

if TYPE_CHECKING:
    from podsponsor.catalog.transcript_fetch import Progress, TranscriptFetched

catalog_app = typer.Typer(
    name="catalog", help="Shows and episodes: fetch the transcripts their feeds name.", no_args_is_help=True
)


@catalog_app.command("fetch-transcripts")
def fetch_transcripts(
    podcast: Annotated[uuid.UUID | None, typer.Option("--podcast", help="Only this show's episodes (its id).")] = None,
    limit: Annotated[
        int | None, typer.Option(help="At most this many episodes in all (each workspace's newest first).", min=1)
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "--workspace", help="The workspace's slug; default: every workspace.")
    ] = None,
) -> None:
    """Download the transcripts that feeds name (`<podcast:transcript>`) for episodes that have none yet, read them
    (WebVTT, SRT or plain text) and store their text for matchmaking.

    Each episode is reported as it finishes; one that fails (unreachable, too large, not a transcript) is listed
    with the reason and the others go on. Exit code 1 when any failed."""
    from podsponsor.cli_runtime import with_database
    from podsponsor.config import get_settings

    stored, failed = with_database(get_settings(), _fetch(tenant, podcast, limit))
    if not stored and not failed:
        typer.echo("no episode is missing a transcript its feed names.")
        return
    typer.echo(f"{stored} transcript(s) stored, {failed} failed.")
    if failed:
        raise typer.Exit(1)


async def _fetch(slug: str | None, podcast_id: uuid.UUID | None, limit: int | None) -> tuple[int, int]:
    from podsponsor.auth.subject import system_subject
    from podsponsor.catalog import transcript_fetch
    from podsponsor.errors import NotFound

    workspaces = await _workspaces(slug)
    stored = failed = 0
    show_found = podcast_id is None
    for tenant_id, workspace in workspaces:
        remaining = None if limit is None else limit - stored - failed
        if remaining == 0:
            break
        try:
            outcomes = await transcript_fetch.fetch_missing(
                system_subject(tenant_id), podcast_id=podcast_id, limit=remaining, on_progress=_reporter(workspace)
            )
        except NotFound:
            continue  # the show is another workspace's
        show_found = True
        stored += sum(outcome.stored for outcome in outcomes)
        failed += sum(not outcome.stored for outcome in outcomes)
    if not show_found:
        fail(f"no show has the id {podcast_id}" + (f" in {slug!r}" if slug else ""))
    return stored, failed


async def _workspaces(slug: str | None) -> list[tuple[uuid.UUID, str]]:
    """(tenant id, slug) of the named workspace, or of every one. The runtime role sees one tenant per transaction,
    so each tenant's slug is read with that tenant set (the list comes from the SECURITY DEFINER lookup)."""
    from podsponsor.auth import service as auth
    from podsponsor.cli_accounts import tenant_for_slug
    from podsponsor.db.tenancy import set_tenant, unscoped_transaction

    if slug is not None:
        tenant_id = await tenant_for_slug(slug)
        if tenant_id is None:
            fail(f"no workspace has the slug {slug!r}")
        return [(tenant_id, slug)]
    found = []
    async with unscoped_transaction() as session:
        for tenant_id in await auth.tenant_ids(session):
            await set_tenant(session, tenant_id)
            found.append((tenant_id, (await auth.get_tenant(session, tenant_id)).slug))
    return found


def _reporter(workspace: str) -> Progress:
    def report(outcome: TranscriptFetched, done: int, total: int) -> None:
        source = outcome.source
        where = f"[{workspace} {done}/{total}] {source.show_title} — {source.title}"
        if outcome.stored:
            typer.echo(f"{where}: {outcome.words:,} words ({outcome.format})")
        else:
            typer.echo(f"{where}: failed: {outcome.error} ({source.url})")

    return report
