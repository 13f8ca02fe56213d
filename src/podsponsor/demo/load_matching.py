"""Writes what matchmaking reads beyond the catalogue, sales, listening, bookings and conversions: the sponsors'
briefs (`briefs.py`) and the transcripts of the shows that publish them (`transcripts.py`), in one transaction.

A workspace that has briefs already gets none, and one that has transcripts already gets none, so loading twice adds
nothing and a workspace loaded before these existed gets them; two loaders at once wait for each other on a lock and
the second finds the first one's rows.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.catalog.models import Episode, EpisodeTranscript
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.demo.briefs import generate_briefs
from podsponsor.demo.generate import Row, TenantRows
from podsponsor.demo.transcripts import generate_transcripts
from podsponsor.matching import service as matching
from podsponsor.matching import tasks as matching_tasks
from podsponsor.matching.models import Match, MatchBrief, MatchRun
from podsponsor.sales.models import Sponsor

log = logging.getLogger(__name__)

LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass(frozen=True)
class MatchInputs:
    briefs: int
    transcripts: int


async def add_match_inputs(rows: TenantRows, seed: int, now: datetime) -> MatchInputs:
    """Adds the workspace's briefs unless it has some, and its transcripts unless it has some; what was added. Only
    the sponsors and episodes the workspace holds get them (one loaded by an older demo may hold others)."""
    async with tenant_transaction(rows.id) as session:
        await session.execute(LOCK, {"key": f"demo match inputs:{rows.id}"})
        briefs = [] if await _has_any(session, rows, MatchBrief) else generate_briefs(rows, seed, now)
        briefs = await _held(session, rows, briefs, "sponsor_id", Sponsor)
        transcripts = [] if await _has_any(session, rows, EpisodeTranscript) else generate_transcripts(rows, seed)
        transcripts = await _held(session, rows, transcripts, "episode_id", Episode)
        for model, batch in ((MatchBrief, briefs), (EpisodeTranscript, transcripts)):
            if batch:
                await session.execute(insert(model), batch)
    if briefs or transcripts:
        log.info(
            "demo workspace %s: %d briefs, %d transcripts",
            rows.slug,
            len(briefs),
            len(transcripts),
            extra={"workspace": rows.slug, "briefs": len(briefs), "transcripts": len(transcripts)},
        )
    return MatchInputs(len(briefs), len(transcripts))


async def _has_any(session: AsyncSession, rows: TenantRows, model: type[MatchBrief | EpisodeTranscript]) -> bool:
    return await session.scalar(select(model.id).where(model.tenant_id == rows.id).limit(1)) is not None


async def _held(
    session: AsyncSession, rows: TenantRows, made: list[Row], key: str, model: type[Sponsor | Episode]
) -> list[Row]:
    """The rows of `made` whose `key` names a row of `model` the workspace holds."""
    if not made:
        return []
    wanted = [row[key] for row in made]
    held = set(await session.scalars(select(model.id).where(model.tenant_id == rows.id, model.id.in_(wanted))))
    return [row for row in made if row[key] in held]


async def add_matches(tenant_id: uuid.UUID) -> int:
    """Scores every advertiser-show pair of a workspace that has no matches yet, as the whole-workspace job does;
    how many matches it stored."""
    async with tenant_transaction(tenant_id) as session:
        if await session.scalar(select(Match.id).where(Match.tenant_id == tenant_id).limit(1)) is not None:
            return 0
        run = await matching.new_tenant_run(session, tenant_id, None)
    await matching_tasks.run_tenant(tenant_id, run.id)
    async with tenant_transaction(tenant_id) as session:
        stored = await session.scalar(select(MatchRun.pairs_stored).where(MatchRun.id == run.id))
    return int(stored or 0)
