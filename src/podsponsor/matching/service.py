"""Matchmaking's rules: recalculating the matches of one pair, of one advertiser or show, or of the whole workspace
(a job, for admins), reading them back ranked and filtered, and each advertiser's brief.

Pair and entity recalculations run in the request and answer with their run; a whole-workspace one answers at once
with a queued run whose progress (`pairs_scored` of `pairs_total`) the worker updates as it goes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject, system_subject
from podsponsor.catalog import service as catalog
from podsponsor.errors import Forbidden, NotFound, ValidationFailed
from podsponsor.events import service as events
from podsponsor.jobs.enqueue import enqueue
from podsponsor.matching import engine, gather, repository
from podsponsor.matching.inputs import POSITIONS, Inputs
from podsponsor.matching.models import Match, MatchBrief, MatchRun
from podsponsor.matching.settings import MatchSettings, match_settings
from podsponsor.sales import service as sales

FLAG: Final = "ENABLE_MATCHMAKING"
TASK: Final = "matching.recalculate"
EVENT: Final = "match.recalculated"
MAX_FILTERED: Final = 10_000  # ranked matches read to apply an inventory filter


def _scope(sponsor_id: uuid.UUID | None, podcast_id: uuid.UUID | None) -> str:
    if sponsor_id and podcast_id:
        return "pair"
    return "advertiser" if sponsor_id else "podcast" if podcast_id else "tenant"


async def recalculate(
    session: AsyncSession,
    subject: Subject,
    *,
    sponsor_id: uuid.UUID | None = None,
    podcast_id: uuid.UUID | None = None,
    today: date | None = None,
) -> MatchRun:
    """Recalculate the pair, the entity's pairs, or (admins only, as a job) every pair of the workspace."""
    if sponsor_id is not None:
        await sales.get_sponsor(session, subject, sponsor_id)
    if podcast_id is not None:
        await catalog.get_podcast(session, subject, podcast_id)
    scope = _scope(sponsor_id, podcast_id)
    if scope == "tenant":
        if not subject.can(Permission.TENANT_ADMIN):
            raise Forbidden("recalculating every pair of the workspace is for admins")
        run = await new_tenant_run(session, subject.tenant_id, subject.user_id)
        run.job_id = await enqueue(
            session,
            TASK,
            queue="matching",
            lock=f"matching:{subject.tenant_id}",
            tenant_id=str(subject.tenant_id),
            run_id=str(run.id),
        )
        await session.flush()
        return run
    run = MatchRun(
        tenant_id=subject.tenant_id,
        id=uuid.uuid4(),
        scope=scope,
        sponsor_id=sponsor_id,
        podcast_id=podcast_id,
        status="running",
        requested_by=subject.user_id,
        started_at=datetime.now(UTC),
    )
    repository.add(session, run)
    await session.flush()
    inputs = await gather.gather(
        session,
        subject.tenant_id,
        today or datetime.now(UTC).date(),
        sponsor_ids=[sponsor_id] if sponsor_id else None,
        podcast_ids=[podcast_id] if podcast_id else None,
    )
    settings = await match_settings(session, subject.tenant_id)
    pairs = engine.score_all(inputs, settings)
    await _finish(session, subject, run, inputs, pairs)
    return run


async def _finish(
    session: AsyncSession, subject: Subject, run: MatchRun, inputs: Inputs, pairs: Sequence[engine.ScoredPair]
) -> None:
    run.pairs_total = len(inputs.advertisers) * len(inputs.shows)
    run.pairs_scored = run.pairs_total
    run.pairs_stored = await repository.store_matches(session, subject.tenant_id, [row(run.id, p) for p in pairs])
    if run.scope == "tenant":
        await repository.drop_unkept(session, subject.tenant_id, run.id)
    run.status = "completed"
    run.finished_at = datetime.now(UTC)
    await session.flush()
    await events.record(
        session,
        subject,
        EVENT,
        subject_type="match_run",
        subject_id=run.id,
        payload={
            "run_id": str(run.id),
            "scope": run.scope,
            "sponsor_id": str(run.sponsor_id) if run.sponsor_id else None,
            "podcast_id": str(run.podcast_id) if run.podcast_id else None,
            "pairs_scored": run.pairs_scored,
            "pairs_stored": run.pairs_stored,
        },
    )


def row(run_id: uuid.UUID, pair: engine.ScoredPair) -> tuple[Any, ...]:
    """A scored pair as stored: every signal with its weight, present ones with value and inputs, missing ones with
    the reason."""
    signals: dict[str, Any] = dict(pair.signals)
    for name, reason in pair.missing.items():
        signals[name] = {"value": None, "weight": None, "missing": reason}
    return (
        pair.sponsor_id,
        pair.podcast_id,
        Decimal(f"{pair.score:.2f}"),
        pair.rationale,
        repository.jsonb(signals),
        list(pair.missing),
        pair.conflict,
        run_id,
    )


# The whole-workspace job -----------------------------------------------------------------------------------------


async def new_tenant_run(session: AsyncSession, tenant_id: uuid.UUID, requested_by: uuid.UUID | None) -> MatchRun:
    """A queued whole-workspace run, for the job (or a foreground caller: the CLI, the demo) to carry out with
    `matching.tasks.run_tenant`."""
    run = MatchRun(
        tenant_id=tenant_id,
        id=uuid.uuid4(),
        scope="tenant",
        status="queued",
        requested_by=requested_by,
        started_at=datetime.now(UTC),
    )
    repository.add(session, run)
    await session.flush()
    return run


@dataclass
class Progress:
    scored: int = 0

    def __call__(self, scored: int) -> None:
        self.scored = scored


async def prepare_tenant_run(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, today: date
) -> tuple[MatchRun, Inputs, MatchSettings] | None:
    """None when the run has completed already: a job run again (its worker died after the run's last commit) must
    not store the matches and announce them a second time."""
    run = await repository.get_run(session, tenant_id, run_id)
    if run is None:
        raise NotFound("no such match run")
    if run.status == "completed":
        return None
    inputs = await gather.gather(session, tenant_id, today)
    run.status = "running"
    run.pairs_total = len(inputs.advertisers) * len(inputs.shows)
    await session.flush()
    return run, inputs, await match_settings(session, tenant_id)


async def score_in_thread(
    inputs: Inputs, settings: MatchSettings, progress: Progress, keep: int | None
) -> list[engine.ScoredPair]:
    """Score off the event loop (the demo runs the app and the worker in one process)."""
    return await asyncio.to_thread(engine.score_all, inputs, settings, keep=keep, progress=progress)


async def record_progress(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, scored: int) -> None:
    run = await repository.get_run(session, tenant_id, run_id)
    if run is not None and run.status == "running":
        run.pairs_scored = scored
        await session.flush()


async def complete_tenant_run(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, inputs: Inputs, pairs: list[engine.ScoredPair]
) -> MatchRun:
    run = await repository.get_run(session, tenant_id, run_id)
    if run is None:
        raise NotFound("no such match run")
    subject = system_subject(tenant_id)
    await _finish(session, subject, run, inputs, pairs)
    return run


async def fail_run(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID, error: str) -> None:
    run = await repository.get_run(session, tenant_id, run_id)
    if run is not None:
        run.status, run.error, run.finished_at = "failed", error[:2000], datetime.now(UTC)
        await session.flush()


async def get_run(session: AsyncSession, subject: Subject, run_id: uuid.UUID) -> MatchRun:
    run = await repository.get_run(session, subject.tenant_id, run_id)
    if run is None or (subject.is_advertiser and run.sponsor_id != subject.sponsor_id):
        raise NotFound("no such match run")
    return run


# Reading matches -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    start: date
    end: date
    positions: tuple[str, ...]
    min_slots: int


@dataclass(frozen=True)
class RankedMatch:
    id: uuid.UUID
    sponsor_id: uuid.UUID
    sponsor_name: str
    industry: str
    podcast_id: uuid.UUID
    podcast_title: str
    categories: list[str]
    score: float
    rationale: str
    signals: dict[str, Any]
    missing: list[str]
    conflict: str | None
    computed_at: datetime
    open_slots: int | None = None


def _ranked(row: dict[str, Any], open_slots: int | None = None) -> RankedMatch:
    return RankedMatch(
        id=row["id"],
        sponsor_id=row["sponsor_id"],
        sponsor_name=row["sponsor_name"],
        industry=row["industry"],
        podcast_id=row["podcast_id"],
        podcast_title=row["podcast_title"],
        categories=list(row["categories"] or []),
        score=float(row["score"]),
        rationale=row["rationale"],
        signals=row["signals"],
        missing=list(row["missing"] or []),
        conflict=row["conflict"],
        computed_at=row["computed_at"],
        open_slots=open_slots,
    )


def _check_availability(availability: Availability) -> None:
    problems = []
    if availability.end < availability.start:
        problems.append({"field": "available_to", "value": str(availability.end), "reason": "before available_from"})
    if (availability.end - availability.start).days > 365:
        problems.append({"field": "available_to", "value": str(availability.end), "reason": "at most 365 days"})
    for position in availability.positions:
        if position not in POSITIONS:
            problems.append({"field": "position", "value": position, "reason": f"one of {', '.join(POSITIONS)}"})
    if problems:
        raise ValidationFailed("the inventory filter is not valid", errors=problems)


async def ranked(
    session: AsyncSession,
    subject: Subject,
    *,
    sponsor_id: uuid.UUID | None = None,
    podcast_id: uuid.UUID | None = None,
    min_score: float | None = None,
    category: str | None = None,
    availability: Availability | None = None,
    limit: int = 50,
    offset: int = 0,
    today: date | None = None,
) -> tuple[list[RankedMatch], int]:
    """Stored matches, best first. An advertiser user sees only its own sponsor's matches."""
    if subject.is_advertiser:
        if sponsor_id is not None and sponsor_id != subject.sponsor_id:
            raise NotFound("no such sponsor")
        sponsor_id = subject.sponsor_id
    if sponsor_id is not None:
        await sales.get_sponsor(session, subject, sponsor_id)
    if podcast_id is not None:
        await catalog.get_podcast(session, subject, podcast_id)
    filters: dict[str, Any] = {"sponsor_id": sponsor_id, "podcast_id": podcast_id, "min_score": min_score}
    if availability is None:
        rows, total = await repository.ranked(
            session, subject.tenant_id, **filters, category=category, limit=limit, offset=offset
        )
        return [_ranked(r) for r in rows], total
    _check_availability(availability)
    rows, _ = await repository.ranked(session, subject.tenant_id, **filters, category=category, limit=MAX_FILTERED)
    shows = list(dict.fromkeys(r["podcast_id"] for r in rows))
    inventory = await gather.inventory(session, subject.tenant_id, today or datetime.now(UTC).date(), shows)
    first = max((availability.start - inventory.start).days, 0)
    last = min((availability.end - inventory.start).days, inventory.days - 1)
    positions = [POSITIONS.index(p) for p in availability.positions] or list(range(len(POSITIONS)))
    kept = []
    for found in rows:
        index = shows.index(found["podcast_id"])
        open_slots = 0
        if last >= first:
            cumulative = inventory.cumulative[index]
            open_slots = int((cumulative[last + 1, positions] - cumulative[first, positions]).sum())
        if open_slots >= availability.min_slots:
            kept.append(_ranked(found, open_slots))
    return kept[offset : offset + limit], len(kept)


async def top_matches(
    session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID, limit: int = 5
) -> list[RankedMatch]:
    """An advertiser's best shows (for dashboards)."""
    found, _ = await ranked(session, subject, sponsor_id=sponsor_id, limit=limit)
    return found


async def get_match(session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID, podcast_id: uuid.UUID) -> Match:
    if subject.is_advertiser and sponsor_id != subject.sponsor_id:
        raise NotFound("no such match")
    match = await repository.get_match(session, subject.tenant_id, sponsor_id, podcast_id)
    if match is None:
        raise NotFound("no match for that advertiser and show; recalculate the pair")
    return match


async def last_computed(
    session: AsyncSession,
    subject: Subject,
    *,
    sponsor_id: uuid.UUID | None = None,
    podcast_id: uuid.UUID | None = None,
) -> datetime | None:
    """When the newest of the matches (of one advertiser, or one show) was computed."""
    if subject.is_advertiser:
        sponsor_id = subject.sponsor_id
    return await repository.last_computed(session, subject.tenant_id, sponsor_id=sponsor_id, podcast_id=podcast_id)


async def latest_runs(session: AsyncSession, subject: Subject, limit: int = 10) -> list[MatchRun]:
    """The workspace's latest recalculations, newest first; an advertiser user sees only its own sponsor's."""
    runs = await repository.latest_runs(session, subject.tenant_id, limit)
    return [run for run in runs if not subject.is_advertiser or run.sponsor_id == subject.sponsor_id]


# Briefs ----------------------------------------------------------------------------------------------------------


async def get_brief(session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID) -> MatchBrief | None:
    if subject.is_advertiser and sponsor_id != subject.sponsor_id:
        raise NotFound("no such sponsor")
    await sales.get_sponsor(session, subject, sponsor_id)
    return await repository.get_brief(session, subject.tenant_id, sponsor_id)


async def put_brief(
    session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID, values: dict[str, Any]
) -> MatchBrief:
    """Set the advertiser's brief (every field; omitted ones are cleared)."""
    await sales.get_sponsor(session, subject, sponsor_id)
    brief = await repository.get_brief(session, subject.tenant_id, sponsor_id)
    if brief is None:
        brief = MatchBrief(tenant_id=subject.tenant_id, id=uuid.uuid4(), sponsor_id=sponsor_id)
        repository.add(session, brief)
    for name, value in values.items():
        setattr(brief, name, value)
    await session.flush()
    await events.record(
        session,
        subject,
        "match.brief_changed",
        subject_type="sponsor",
        subject_id=sponsor_id,
        payload={name: str(value) if isinstance(value, date) else value for name, value in values.items()},
    )
    return brief
