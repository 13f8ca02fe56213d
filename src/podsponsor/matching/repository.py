"""Every query of matchmaking: what scoring reads from the other domains' tables (read-only joins by key, under the
same row-level security, one statement per input for the whole scope), and the matches, briefs and runs it keeps.

Each query names the tenant explicitly as well as running under the tenant's row-level security.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.copy import driver_connection
from podsponsor.matching.models import Match, MatchBrief, MatchRun

RECENT_EPISODES: Final = 50  # a show's topics are read from its latest episodes
TRANSCRIPT_CHARS: Final = 20_000  # of each transcript: enough to know what a show talks about

ADVERTISERS = """
    SELECT s.id, s.name, s.industry, s.target_geo, s.target_demo, s.target_topics, s.brand_safety,
           b.flight_start, b.flight_end, b.positions, b.slots_needed, b.keywords, b.blocked_categories,
           b.id IS NOT NULL AS has_brief
    FROM sponsors s
    LEFT JOIN match_briefs b ON b.tenant_id = s.tenant_id AND b.sponsor_id = s.id
    WHERE s.tenant_id = :tenant AND s.deleted_at IS NULL AND (CAST(:ids AS uuid[]) IS NULL OR s.id = ANY(:ids))
    ORDER BY s.name, s.id
"""
WON_CATEGORIES = """
    SELECT DISTINCT io.sponsor_id, unnest(p.categories) AS category
    FROM insertion_orders io
    JOIN campaigns c ON c.tenant_id = io.tenant_id AND c.id = io.campaign_id
    JOIN podcasts p ON p.tenant_id = io.tenant_id AND p.id = io.podcast_id
    WHERE io.tenant_id = :tenant AND c.stage = 'won' AND io.status <> 'cancelled'
"""
SHOWS = """
    SELECT id, title, description, categories, explicit, audience_profile
    FROM podcasts
    WHERE tenant_id = :tenant AND deleted_at IS NULL
    ORDER BY title, id
"""
EPISODE_TEXT = f"""
    SELECT e.podcast_id, e.title, e.description, left(t.text, {TRANSCRIPT_CHARS}) AS transcript
    FROM (
        SELECT id, podcast_id, title, description,
               row_number() OVER (PARTITION BY podcast_id ORDER BY publish_date DESC NULLS LAST, id) AS recency
        FROM episodes WHERE tenant_id = :tenant AND deleted_at IS NULL
    ) e
    LEFT JOIN episode_transcripts t ON t.tenant_id = :tenant AND t.episode_id = e.id
    WHERE e.recency <= {RECENT_EPISODES}
"""
LOCATED = """
    SELECT podcast_id, country, count(*) AS downloads
    FROM downloads
    WHERE tenant_id = :tenant AND day >= :since AND country IS NOT NULL
      AND (CAST(:shows AS uuid[]) IS NULL OR podcast_id = ANY(:shows))
    GROUP BY podcast_id, country
"""
# Conversions credited to each advertiser's orders on each show by the latest completed run of each campaign (under
# the campaign's default model), beside the impressions those orders delivered, with the advertiser's industry (the
# industry-level lift needs every advertiser's results, not only those being scored). Only orders whose conversions
# were looked for count: an attributed campaign's order during whose flight (and the month after) the advertiser
# reported conversions. An order whose conversions were never collected has no conversion rate, not a zero one.
DELIVERED = """
    WITH latest AS (
        SELECT DISTINCT ON (campaign_id) id, campaign_id FROM attribution_runs
        WHERE tenant_id = :tenant AND status = 'completed' ORDER BY campaign_id, started_at DESC, id
    ), chosen AS (
        SELECT DISTINCT ON (campaign_id) campaign_id, model FROM attribution_models
        WHERE tenant_id = :tenant ORDER BY campaign_id, is_default DESC, created_at, model
    ), credited AS (
        SELECT c.io_id, sum(c.credit) AS conversions
        FROM attribution_credits c
        JOIN latest l ON l.id = c.run_id
        JOIN chosen m ON m.campaign_id = c.campaign_id AND m.model = c.model
        WHERE c.tenant_id = :tenant
        GROUP BY c.io_id
    )
    SELECT io.sponsor_id, lower(s.industry) AS industry, io.podcast_id,
           coalesce(sum(cr.conversions), 0) AS conversions, sum(io.delivered_impressions) AS impressions
    FROM insertion_orders io
    JOIN latest l ON l.campaign_id = io.campaign_id
    JOIN sponsors s ON s.tenant_id = io.tenant_id AND s.id = io.sponsor_id
    LEFT JOIN credited cr ON cr.io_id = io.id
    WHERE io.tenant_id = :tenant AND io.status <> 'cancelled' AND io.delivered_impressions > 0
      AND EXISTS (
          SELECT 1 FROM conversions c
          WHERE c.tenant_id = io.tenant_id AND c.sponsor_id = io.sponsor_id
            AND c.occurred_at >= io.flight_start AND c.occurred_at < io.flight_end + 31
      )
    GROUP BY io.sponsor_id, lower(s.industry), io.podcast_id
"""
EXCLUSIVE = """
    SELECT io.podcast_id, io.sponsor_id, s.name AS sponsor_name, lower(s.industry) AS industry, io.flight_start,
           io.flight_end
    FROM insertion_orders io
    JOIN sponsors s ON s.tenant_id = io.tenant_id AND s.id = io.sponsor_id
    WHERE io.tenant_id = :tenant AND io.exclusivity AND NOT io.separation_waived
      AND io.status IN ('scheduled', 'active') AND io.flight_end >= :today
"""
AD_UNITS = """
    SELECT id, podcast_id, position FROM ad_units
    WHERE tenant_id = :tenant AND deleted_at IS NULL AND (CAST(:shows AS uuid[]) IS NULL OR podcast_id = ANY(:shows))
"""
RELEASES = """
    SELECT podcast_id, (publish_date AT TIME ZONE 'UTC')::date AS day, id
    FROM episodes
    WHERE tenant_id = :tenant AND deleted_at IS NULL AND publish_date IS NOT NULL
      AND publish_date >= CAST(:since AS date) AND publish_date < CAST(:until AS date)
      AND (CAST(:shows AS uuid[]) IS NULL OR podcast_id = ANY(:shows))
"""
BOOKED_SLOTS = """
    SELECT p.ad_unit_id, p.episode_id
    FROM io_placements p
    JOIN insertion_orders io ON io.tenant_id = p.tenant_id AND io.id = p.io_id
    JOIN episodes e ON e.tenant_id = p.tenant_id AND e.id = p.episode_id
    WHERE p.tenant_id = :tenant AND io.status <> 'cancelled'
      AND e.publish_date >= CAST(:first AS date) AND e.publish_date < CAST(:until AS date)
"""
UNASSIGNED_FLIGHTS = """
    SELECT io.ad_unit_id, io.podcast_id, io.flight_start, io.flight_end
    FROM insertion_orders io
    WHERE io.tenant_id = :tenant AND io.status IN ('scheduled', 'active') AND io.flight_end >= :first
      AND NOT EXISTS (SELECT 1 FROM io_placements p WHERE p.tenant_id = io.tenant_id AND p.io_id = io.id)
"""


async def _rows(session: AsyncSession, query: str, **params: Any) -> list[dict[str, Any]]:
    result = await session.execute(text(query), params)
    return [dict(row._mapping) for row in result]


async def advertisers(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID] | None
) -> list[dict[str, Any]]:
    return await _rows(session, ADVERTISERS, tenant=tenant_id, ids=list(ids) if ids is not None else None)


async def won_categories(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return await _rows(session, WON_CATEGORIES, tenant=tenant_id)


async def shows(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return await _rows(session, SHOWS, tenant=tenant_id)


async def episode_text(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return await _rows(session, EPISODE_TEXT, tenant=tenant_id)


async def located(
    session: AsyncSession, tenant_id: uuid.UUID, since: date, shows: Sequence[uuid.UUID] | None
) -> list[dict[str, Any]]:
    return await _rows(session, LOCATED, tenant=tenant_id, since=since, shows=list(shows) if shows else None)


async def delivered(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return await _rows(session, DELIVERED, tenant=tenant_id)


async def exclusive_orders(session: AsyncSession, tenant_id: uuid.UUID, today: date) -> list[dict[str, Any]]:
    return await _rows(session, EXCLUSIVE, tenant=tenant_id, today=today)


async def ad_units(
    session: AsyncSession, tenant_id: uuid.UUID, shows: Sequence[uuid.UUID] | None
) -> list[dict[str, Any]]:
    return await _rows(session, AD_UNITS, tenant=tenant_id, shows=list(shows) if shows else None)


async def releases(
    session: AsyncSession, tenant_id: uuid.UUID, since: date, until: date, shows: Sequence[uuid.UUID] | None
) -> list[dict[str, Any]]:
    params = {"tenant": tenant_id, "since": since, "until": until, "shows": list(shows) if shows else None}
    return await _rows(session, RELEASES, **params)


async def booked_slots(session: AsyncSession, tenant_id: uuid.UUID, first: date, until: date) -> list[dict[str, Any]]:
    return await _rows(session, BOOKED_SLOTS, tenant=tenant_id, first=first, until=until)


async def unassigned_flights(session: AsyncSession, tenant_id: uuid.UUID, first: date) -> list[dict[str, Any]]:
    return await _rows(session, UNASSIGNED_FLIGHTS, tenant=tenant_id, first=first)


# Matches ---------------------------------------------------------------------------------------------------------

MATCH_COLUMNS: Final = ("sponsor_id", "podcast_id", "score", "rationale", "signals", "missing", "conflict", "run_id")


async def store_matches(session: AsyncSession, tenant_id: uuid.UUID, rows: list[tuple[Any, ...]]) -> int:
    """Insert or replace matches (rows in MATCH_COLUMNS order) through a COPY into a temporary table: a
    whole-workspace recalculation writes hundreds of thousands of rows. The table goes with the transaction, so no
    pooled connection keeps an object the runtime role owns."""
    if not rows:
        return 0
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS match_batch (sponsor_id uuid, podcast_id uuid, score numeric(5,2), "
            "rationale text, signals jsonb, missing varchar(30)[], conflict text, run_id uuid) ON COMMIT DROP"
        )
    )
    await session.execute(text("TRUNCATE match_batch"))
    connection = await driver_connection(session)
    statement = sql.SQL("COPY match_batch ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, MATCH_COLUMNS))
    )
    async with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)
    result = await session.execute(
        text(
            """
            INSERT INTO matches (tenant_id, id, sponsor_id, podcast_id, score, rationale, signals, missing, conflict,
                                 run_id, computed_at)
            SELECT :tenant, gen_random_uuid(), sponsor_id, podcast_id, score, rationale, signals, missing, conflict,
                   run_id, now()
            FROM match_batch
            ON CONFLICT (tenant_id, sponsor_id, podcast_id) DO UPDATE SET
                score = EXCLUDED.score, rationale = EXCLUDED.rationale, signals = EXCLUDED.signals,
                missing = EXCLUDED.missing, conflict = EXCLUDED.conflict, run_id = EXCLUDED.run_id,
                computed_at = EXCLUDED.computed_at
            """
        ),
        {"tenant": tenant_id},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value)


async def drop_unkept(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> int:
    """After a whole-workspace run: matches it did not keep are stale and go."""
    result = await session.execute(
        delete(Match).where(Match.tenant_id == tenant_id, Match.run_id.is_distinct_from(run_id))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def ranked(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    sponsor_id: uuid.UUID | None = None,
    podcast_id: uuid.UUID | None = None,
    min_score: float | None = None,
    category: str | None = None,
    podcasts: Sequence[uuid.UUID] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Stored matches best first, with the show's and the advertiser's names, and how many match the filters."""
    where = ["m.tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id, "limit": limit, "offset": offset}
    if sponsor_id is not None:
        where.append("m.sponsor_id = :sponsor")
        params["sponsor"] = sponsor_id
    if podcast_id is not None:
        where.append("m.podcast_id = :podcast")
        params["podcast"] = podcast_id
    if min_score is not None:
        where.append("m.score >= :min_score")
        params["min_score"] = min_score
    if category:
        where.append("EXISTS (SELECT 1 FROM unnest(p.categories) c WHERE lower(c) = lower(:category))")
        params["category"] = category
    if podcasts is not None:
        where.append("m.podcast_id = ANY(:podcasts)")
        params["podcasts"] = list(podcasts)
    query = f"""
        SELECT m.id, m.sponsor_id, s.name AS sponsor_name, s.industry, m.podcast_id, p.title AS podcast_title,
               p.categories, m.score, m.rationale, m.signals, m.missing, m.conflict, m.computed_at,
               count(*) OVER () AS total
        FROM matches m
        JOIN podcasts p ON p.tenant_id = m.tenant_id AND p.id = m.podcast_id AND p.deleted_at IS NULL
        JOIN sponsors s ON s.tenant_id = m.tenant_id AND s.id = m.sponsor_id AND s.deleted_at IS NULL
        WHERE {" AND ".join(where)}
        ORDER BY m.score DESC, p.title, s.name, m.id
        LIMIT :limit OFFSET :offset
    """
    rows = await _rows(session, query, **params)
    return rows, int(rows[0]["total"]) if rows else 0


async def get_match(
    session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID, podcast_id: uuid.UUID
) -> Match | None:
    found: Match | None = await session.scalar(
        select(Match).where(
            Match.tenant_id == tenant_id, Match.sponsor_id == sponsor_id, Match.podcast_id == podcast_id
        )
    )
    return found


# Briefs and runs ---------------------------------------------------------------------------------------------------


async def get_brief(session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID) -> MatchBrief | None:
    found: MatchBrief | None = await session.scalar(
        select(MatchBrief).where(MatchBrief.tenant_id == tenant_id, MatchBrief.sponsor_id == sponsor_id)
    )
    return found


def add(session: AsyncSession, row: MatchBrief | MatchRun) -> None:
    session.add(row)


async def get_run(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> MatchRun | None:
    found: MatchRun | None = await session.scalar(
        select(MatchRun).where(MatchRun.tenant_id == tenant_id, MatchRun.id == run_id)
    )
    return found


async def latest_runs(session: AsyncSession, tenant_id: uuid.UUID, limit: int) -> list[MatchRun]:
    rows = await session.scalars(
        select(MatchRun).where(MatchRun.tenant_id == tenant_id).order_by(MatchRun.started_at.desc()).limit(limit)
    )
    return list(rows)


async def last_computed(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    sponsor_id: uuid.UUID | None = None,
    podcast_id: uuid.UUID | None = None,
) -> datetime | None:
    query = select(func.max(Match.computed_at)).where(Match.tenant_id == tenant_id)
    if sponsor_id is not None:
        query = query.where(Match.sponsor_id == sponsor_id)
    if podcast_id is not None:
        query = query.where(Match.podcast_id == podcast_id)
    value: datetime | None = await session.scalar(query)
    return value
