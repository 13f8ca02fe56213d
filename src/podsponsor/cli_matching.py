"""`podsponsor match recalculate | list`: matchmaking from a shell.

`recalculate` scores one pair, an advertiser's or a show's pairs, or every pair of the workspace. The whole workspace
runs here in the foreground as the worker's job runs it (the same kind of run, progress, kept matches and event), with
a progress bar of pairs scored read back from the run.

Heavy modules are imported when a command runs, so `podsponsor --help` stays quick.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from podsponsor.cli_output import fail

if TYPE_CHECKING:
    from podsponsor.matching.models import MatchRun
    from podsponsor.matching.service import RankedMatch

match_app = typer.Typer(
    name="match",
    help="Matchmaking: recalculate how well advertisers and shows fit, and list the best matches.",
    no_args_is_help=True,
)

POLL_S: Final = 0.5  # the job records its progress about this often

TenantOption = Annotated[str, typer.Option("--tenant", "--workspace", help="The workspace's slug.")]
AdvertiserOption = Annotated[uuid.UUID | None, typer.Option("--advertiser", help="The advertiser's (sponsor's) id.")]
PodcastOption = Annotated[uuid.UUID | None, typer.Option("--podcast", help="The show's id.")]


@dataclass(frozen=True)
class Recalculated:
    run: MatchRun
    keep: int  # matches a whole-workspace run keeps per advertiser and per show


def _run(work: Any) -> Any:
    from podsponsor.cli_runtime import with_database
    from podsponsor.config import get_settings

    return with_database(get_settings(), work)


async def _tenant(slug: str) -> uuid.UUID:
    from podsponsor.cli_accounts import tenant_for_slug

    tenant_id = await tenant_for_slug(slug)
    if tenant_id is None:
        fail(f"no workspace has the slug {slug!r}")
    return tenant_id


@match_app.command("recalculate")
def recalculate(tenant: TenantOption, advertiser: AdvertiserOption = None, podcast: PodcastOption = None) -> None:
    """Recalculate the matches of one advertiser (`--advertiser`), one show (`--podcast`), one pair (both), or of
    every advertiser and show of the workspace (neither).

    The whole workspace is scored here, with a progress bar of pairs scored, and keeps each advertiser's best shows
    and each show's best advertisers (the workspace's `keep_per_entity`); the summary says what was kept."""
    done: Recalculated = _run(_recalculate(tenant, advertiser, podcast))
    for line in summary(done):
        typer.echo(line)
    if done.run.status != "completed":
        raise typer.Exit(1)


async def _recalculate(slug: str, sponsor_id: uuid.UUID | None, podcast_id: uuid.UUID | None) -> Recalculated:
    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.errors import AppError
    from podsponsor.matching import service
    from podsponsor.matching.settings import match_settings

    tenant_id = await _tenant(slug)
    try:
        async with tenant_transaction(tenant_id) as session:
            keep = (await match_settings(session, tenant_id)).keep_per_entity
            if sponsor_id is None and podcast_id is None:
                run = await service.new_tenant_run(session, tenant_id, None)
            else:
                subject = system_subject(tenant_id)
                run = await service.recalculate(session, subject, sponsor_id=sponsor_id, podcast_id=podcast_id)
    except AppError as exc:
        fail(exc.detail)
    if run.scope == "tenant":
        run = await _whole_workspace(tenant_id, run)
    return Recalculated(run, keep)


async def _whole_workspace(tenant_id: uuid.UUID, run: MatchRun) -> MatchRun:
    """Carry out the queued whole-workspace run here, as the job would, reading its progress back as it goes."""
    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.matching import service, tasks

    work = asyncio.ensure_future(tasks.run_tenant(tenant_id, run.id))
    bar = _Bar()
    try:
        while True:
            await asyncio.wait({work}, timeout=POLL_S)
            async with tenant_transaction(tenant_id) as session:
                current = await service.get_run(session, system_subject(tenant_id), run.id)
            bar(current.pairs_scored, current.pairs_total)
            if work.done():
                if not work.cancelled():
                    work.exception()  # the run carries the failure; the summary reports it
                return current
    except asyncio.CancelledError:
        # Interrupted (Ctrl-C): the run would otherwise show as running for ever.
        work.cancel()
        async with tenant_transaction(tenant_id) as session:
            await service.fail_run(session, tenant_id, run.id, "stopped from the command line")
        raise
    finally:
        bar.close()


class _Bar:
    """A progress bar of pairs scored on stderr, shown once the run knows how many pairs it scores."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def __call__(self, scored: int, total: int) -> None:
        if total <= 0:
            return
        if self.bar is None:
            self.bar = typer.progressbar(length=total, label="scoring pairs", file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        if scored > self.done:
            self.bar.update(scored - self.done)
            self.done = scored

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def summary(done: Recalculated) -> list[str]:
    """What a recalculation did, for a person."""
    run = done.run
    if run.status != "completed":
        return [f"the recalculation {run.status}: {run.error or 'no reason recorded'} (run {run.id})"]
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    lines = [f"scored {run.pairs_scored:,} pairs in {seconds:,.1f} s; stored {run.pairs_stored:,} matches"]
    if run.scope == "tenant":
        lines.append(
            f"kept each advertiser's best {done.keep:,} shows and each show's best {done.keep:,} advertisers; "
            "older matches of the workspace were replaced"
        )
    lines.append(f"run {run.id}")
    return lines


@match_app.command("list")
def list_matches(
    tenant: TenantOption,
    advertiser: AdvertiserOption = None,
    podcast: PodcastOption = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", min=0, max=100, help="Only matches scoring at least this (0-100).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many matches.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the matches with their signals as JSON.")] = False,
) -> None:
    """The stored matches of an advertiser (its best shows, `--advertiser`) or of a show (its best advertisers,
    `--podcast`), best first, each with its score (0-100) and the rationale a seller can repeat."""
    if advertiser is None and podcast is None:
        fail("give --advertiser or --podcast (or both, for one pair)", code=2)
    found, total = _run(_list(tenant, advertiser, podcast, min_score, limit))
    if as_json:
        from podsponsor.matching.schemas import RankedMatchOut

        items = [RankedMatchOut.of_ranked(match).model_dump(mode="json") for match in found]
        typer.echo(json.dumps({"total": total, "items": items}, indent=2))
        return
    for line in ranked_lines(found, total, by_show=advertiser is not None):
        typer.echo(line)


async def _list(
    slug: str, sponsor_id: uuid.UUID | None, podcast_id: uuid.UUID | None, min_score: float | None, limit: int
) -> tuple[list[RankedMatch], int]:
    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.errors import AppError
    from podsponsor.matching import service

    tenant_id = await _tenant(slug)
    try:
        async with tenant_transaction(tenant_id) as session:
            found: tuple[list[RankedMatch], int] = await service.ranked(
                session,
                system_subject(tenant_id),
                sponsor_id=sponsor_id,
                podcast_id=podcast_id,
                min_score=min_score,
                limit=limit,
            )
    except AppError as exc:
        fail(exc.detail)
    return found


def ranked_lines(found: list[RankedMatch], total: int, *, by_show: bool) -> list[str]:
    """One block per match, best first: rank, score and the show (for an advertiser) or the advertiser (for a show),
    then the rationale."""
    if not found:
        return ["no stored matches fit these options; matches are scored by `podsponsor match recalculate`"]
    first = found[0]
    whose = f"{first.sponsor_name} ({first.industry})" if by_show else first.podcast_title
    lines = [f"{whose}: {len(found):,} of {total:,} matches, best first"]
    for rank, match in enumerate(found, start=1):
        other = match.podcast_title if by_show else f"{match.sponsor_name} ({match.industry})"
        categories = f"  [{', '.join(match.categories)}]" if by_show and match.categories else ""
        lines.append(f"{rank:>4}. {match.score:6.2f}  {other}{categories}")
        lines.append(f"      {match.rationale}")
    return lines
