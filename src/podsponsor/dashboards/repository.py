"""Every query of the dashboards: set-based aggregations over other domains' tables where no service computes the
number for a whole workspace at once (one statement per card instead of one per order or show), and over the
dashboards' own rollup of counted downloads. Each statement filters by the tenant explicitly and runs under
row-level security.

Where both the prefix and the host logs counted an episode on a day, only the logs count (`CHOSEN`): the rule of
delivery (measurement.reports.downloads_for_delivery), applied here to the rollup.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.bookings.delivery_repository import PlacementRow
from podsponsor.bookings.models import AdUnit, InsertionOrder
from podsponsor.catalog.models import Podcast
from podsponsor.sales.models import Sponsor

# One source per episode and day: the logs where they counted any download, else the prefix.
CHOSEN: Final = (
    "CASE WHEN sum(r.downloads) FILTER (WHERE r.source_kind = 'logs') > 0 "
    "THEN sum(r.downloads) FILTER (WHERE r.source_kind = 'logs') "
    "ELSE coalesce(sum(r.downloads) FILTER (WHERE r.source_kind = 'prefix'), 0) END"
)
_RELEASED: Final = "(e.publish_date AT TIME ZONE 'UTC')::date"


@dataclass(frozen=True)
class OrderRow:
    io: InsertionOrder
    insertion: str
    sponsor_name: str
    podcast_title: str


async def orders(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    statuses: Sequence[str],
    first: date | None = None,
    last: date | None = None,
    campaign_ids: Sequence[uuid.UUID] | None = None,
) -> list[OrderRow]:
    """Orders in `statuses` whose flight overlaps [first, last] (any flight when not given), of the campaigns
    given (any when not), with how their spot is inserted and the names of their sponsor and show."""
    query = (
        select(InsertionOrder, AdUnit.insertion, Sponsor.name, Podcast.title)
        .join(AdUnit, (AdUnit.tenant_id == InsertionOrder.tenant_id) & (AdUnit.id == InsertionOrder.ad_unit_id))
        .join(Sponsor, (Sponsor.tenant_id == InsertionOrder.tenant_id) & (Sponsor.id == InsertionOrder.sponsor_id))
        .join(Podcast, (Podcast.tenant_id == InsertionOrder.tenant_id) & (Podcast.id == InsertionOrder.podcast_id))
        .where(
            InsertionOrder.tenant_id == tenant_id,
            InsertionOrder.status.in_(statuses),
        )
        .order_by(InsertionOrder.flight_start, InsertionOrder.number)
    )
    if first is not None and last is not None:
        query = query.where(InsertionOrder.flight_start <= last, InsertionOrder.flight_end >= first)
    if campaign_ids is not None:
        query = query.where(InsertionOrder.campaign_id.in_(campaign_ids))
    rows = await session.execute(query)
    return [OrderRow(io, insertion, sponsor, show) for io, insertion, sponsor, show in rows]


PLACEMENTS: Final = f"""
    SELECT p.io_id, p.episode_id, p.bonus, {_RELEASED} AS released,
           (SELECT min((m.settled_at AT TIME ZONE 'UTC')::date) FROM makegoods m
             WHERE m.tenant_id = p.tenant_id AND m.io_id = p.io_id AND m.settlement = 'bonus_episode'
               AND m.bonus_episode_id = p.episode_id) AS bonus_from
    FROM io_placements p
    JOIN episodes e ON e.tenant_id = p.tenant_id AND e.id = p.episode_id
    WHERE p.tenant_id = :tenant AND p.io_id = ANY(:ios)
    ORDER BY p.io_id, released NULLS LAST, p.episode_id
"""


async def placements(session: AsyncSession, tenant_id: uuid.UUID, io_ids: list[uuid.UUID]) -> list[PlacementRow]:
    """The episode slots of many orders at once, as delivery reads them for one (with bonus slots' start days)."""
    if not io_ids:
        return []
    rows = await session.execute(text(PLACEMENTS), {"tenant": tenant_id, "ios": io_ids})
    return [PlacementRow(row.io_id, row.episode_id, row.bonus, row.released, row.bonus_from) for row in rows]


RELEASES: Final = f"""
    SELECT f.io_id, e.id AS episode_id, {_RELEASED} AS released
    FROM unnest(CAST(:ios AS uuid[]), CAST(:refs AS uuid[]), CAST(:firsts AS date[]), CAST(:lasts AS date[]))
         AS f(io_id, podcast_id, first_day, last_day)
    JOIN episodes e ON e.tenant_id = :tenant AND e.podcast_id = f.podcast_id
    WHERE e.tenant_id = :tenant AND e.deleted_at IS NULL AND e.publish_date IS NOT NULL
      AND {_RELEASED} BETWEEN f.first_day AND f.last_day
    ORDER BY f.io_id, released, e.id
"""


async def releases(
    session: AsyncSession, tenant_id: uuid.UUID, flights: Sequence[tuple[uuid.UUID, uuid.UUID, date, date]]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, date]]]:
    """For each (io, show, first, last): the show's live episodes released (UTC day) in [first, last]."""
    found: dict[uuid.UUID, list[tuple[uuid.UUID, date]]] = {io_id: [] for io_id, *_ in flights}
    if not flights:
        return found
    rows = await session.execute(text(RELEASES), {"tenant": tenant_id, **_columns(flights)})
    for row in rows:
        found[row.io_id].append((row.episode_id, row.released))
    return found


def _columns(spans: Sequence[tuple[uuid.UUID, uuid.UUID, date, date]]) -> dict[str, list[Any]]:
    return {
        "ios": [span[0] for span in spans],
        "refs": [span[1] for span in spans],
        "firsts": [span[2] for span in spans],
        "lasts": [span[3] for span in spans],
    }


DELIVERED: Final = f"""
    WITH per_episode AS (
        SELECT s.io_id, r.day, {CHOSEN} AS downloads
        FROM unnest(CAST(:ios AS uuid[]), CAST(:refs AS uuid[]), CAST(:firsts AS date[]), CAST(:lasts AS date[]))
             AS s(io_id, episode_id, first_day, last_day)
        JOIN dashboard_download_days r
          ON r.tenant_id = :tenant AND r.episode_id = s.episode_id AND r.day BETWEEN s.first_day AND s.last_day
        GROUP BY s.io_id, r.day, r.episode_id
        UNION ALL
        SELECT s.io_id, r.day, {CHOSEN} AS downloads
        FROM unnest(CAST(:show_ios AS uuid[]), CAST(:show_refs AS uuid[]), CAST(:show_firsts AS date[]),
                    CAST(:show_lasts AS date[])) AS s(io_id, podcast_id, first_day, last_day)
        JOIN dashboard_download_days r
          ON r.tenant_id = :tenant AND r.podcast_id = s.podcast_id AND r.day BETWEEN s.first_day AND s.last_day
        GROUP BY s.io_id, r.day, r.episode_id
    )
    SELECT io_id, day, sum(downloads) AS downloads FROM per_episode GROUP BY io_id, day ORDER BY io_id, day
"""


async def delivered_by_day(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    episode_spans: Sequence[tuple[uuid.UUID, uuid.UUID, date, date]],
    show_spans: Sequence[tuple[uuid.UUID, uuid.UUID, date, date]],
) -> dict[uuid.UUID, list[tuple[date, int]]]:
    """Per order, downloads per UTC day: of (io, episode, first, last) episode spans and (io, show, first, last)
    whole-show spans, one source per episode and day."""
    found: dict[uuid.UUID, list[tuple[date, int]]] = {}
    if not episode_spans and not show_spans:
        return found
    shows = {f"show_{name}": values for name, values in _columns(show_spans).items()}
    rows = await session.execute(text(DELIVERED), {"tenant": tenant_id, **_columns(episode_spans), **shows})
    for row in rows:
        found.setdefault(row.io_id, []).append((row.day, int(row.downloads)))
    return found


DOWNLOADS_BY_DAY: Final = f"""
    SELECT day, sum(downloads) AS downloads FROM (
        SELECT r.day, {CHOSEN} AS downloads FROM dashboard_download_days r
        WHERE r.tenant_id = :tenant AND r.day BETWEEN :first AND :last
        GROUP BY r.day, r.episode_id
    ) per_episode GROUP BY day ORDER BY day
"""


async def downloads_by_day(session: AsyncSession, tenant_id: uuid.UUID, first: date, last: date) -> dict[date, int]:
    rows = await session.execute(text(DOWNLOADS_BY_DAY), {"tenant": tenant_id, "first": first, "last": last})
    return {row.day: int(row.downloads) for row in rows}


ATTRIBUTED: Final = """
    WITH latest AS (
        SELECT DISTINCT ON (r.campaign_id) r.campaign_id, r.id AS run_id
        FROM attribution_runs r
        WHERE r.tenant_id = :tenant AND r.status = 'completed'
        ORDER BY r.campaign_id, r.started_at DESC, r.id
    ), chosen AS (
        SELECT DISTINCT ON (m.campaign_id) m.campaign_id, m.model
        FROM attribution_models m
        WHERE m.tenant_id = :tenant
        ORDER BY m.campaign_id, m.is_default DESC, m.created_at, m.model
    )
    SELECT to_char(date_trunc('month', c.occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, c.sponsor_id,
           c.currency, sum(a.credit * c.value_cents) AS revenue_cents
    FROM latest
    JOIN chosen ON chosen.campaign_id = latest.campaign_id
    JOIN attribution_credits a
      ON a.tenant_id = :tenant AND a.run_id = latest.run_id AND a.model = chosen.model
    JOIN conversions c ON c.tenant_id = :tenant AND c.id = a.conversion_id
    WHERE c.occurred_at >= :since AND c.occurred_at < :until AND c.value_cents IS NOT NULL
      AND c.currency IS NOT NULL AND (CAST(:sponsor AS uuid) IS NULL OR c.sponsor_id = CAST(:sponsor AS uuid))
    GROUP BY 1, 2, 3
"""


async def attributed_revenue(
    session: AsyncSession, tenant_id: uuid.UUID, since: datetime, until: datetime, sponsor_id: uuid.UUID | None
) -> list[tuple[str, uuid.UUID, str, float]]:
    """(YYYY-MM, sponsor, currency, revenue cents) credited to the shows by each campaign's latest completed
    attribution run under its default model, by the month the conversion happened."""
    params = {"tenant": tenant_id, "since": since, "until": until, "sponsor": sponsor_id}
    rows = await session.execute(text(ATTRIBUTED), params)
    return [(row.month, row.sponsor_id, row.currency, float(row.revenue_cents)) for row in rows]


FORECAST_BASIS: Final = f"""
    WITH ranked AS (
        SELECT e.id, e.podcast_id, e.title, {_RELEASED} AS released,
               row_number() OVER (PARTITION BY e.podcast_id ORDER BY e.publish_date DESC, e.id) AS recency
        FROM episodes e
        WHERE e.tenant_id = :tenant AND e.deleted_at IS NULL AND e.publish_date IS NOT NULL
          AND {_RELEASED} <= CAST(:released_by AS date)
          AND (CAST(:podcasts AS uuid[]) IS NULL OR e.podcast_id = ANY(CAST(:podcasts AS uuid[])))
    ), sample AS (SELECT * FROM ranked WHERE recency <= :episodes),
    per_day AS (
        SELECT r.episode_id, r.day, {CHOSEN} AS downloads
        FROM sample s
        JOIN dashboard_download_days r
          ON r.tenant_id = :tenant AND r.episode_id = s.id AND r.day BETWEEN s.released AND s.released + :days - 1
        GROUP BY r.episode_id, r.day
    )
    SELECT s.podcast_id, s.id AS episode_id, s.title, s.released, coalesce(sum(p.downloads), 0) AS downloads
    FROM sample s LEFT JOIN per_day p ON p.episode_id = s.id
    GROUP BY s.podcast_id, s.id, s.title, s.released
    ORDER BY s.podcast_id, s.released DESC, s.id
"""


@dataclass(frozen=True)
class EpisodeTotal:
    episode_id: uuid.UUID
    title: str
    released: date
    downloads: int


async def forecast_basis(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    released_by: date,
    episodes: int,
    days: int,
    podcast_ids: Sequence[uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[EpisodeTotal]]:
    """Per show, its latest `episodes` released by `released_by`, each with its downloads in its first `days` UTC
    days (the release day is day 1)."""
    params = {
        "tenant": tenant_id,
        "released_by": released_by,
        "episodes": episodes,
        "days": days,
        "podcasts": list(podcast_ids) if podcast_ids is not None else None,
    }
    found: dict[uuid.UUID, list[EpisodeTotal]] = {}
    for row in await session.execute(text(FORECAST_BASIS), params):
        total = EpisodeTotal(row.episode_id, row.title, row.released, int(row.downloads))
        found.setdefault(row.podcast_id, []).append(total)
    return found


AD_UNITS: Final = """
    SELECT u.id, u.podcast_id, p.title AS podcast_title, u.name, u.position, u.length_seconds, u.rate_cpm_cents,
           u.flat_rate_cents
    FROM ad_units u JOIN podcasts p ON p.tenant_id = u.tenant_id AND p.id = u.podcast_id
    WHERE u.tenant_id = :tenant AND u.deleted_at IS NULL AND p.deleted_at IS NULL
    ORDER BY p.title, p.id, array_position(ARRAY['pre', 'mid', 'post']::text[], u.position::text), u.length_seconds,
             u.name
"""


async def ad_units(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every live ad unit of every live show (the rate card), with its show's title."""
    return [dict(row._mapping) for row in await session.execute(text(AD_UNITS), {"tenant": tenant_id})]


OPEN_SLOTS: Final = f"""
    SELECT date_trunc('week', {_RELEASED})::date AS week, u.position,
           count(*) FILTER (WHERE booked.episode_id IS NULL) AS open, count(booked.episode_id) AS booked
    FROM episodes e
    JOIN podcasts p ON p.tenant_id = e.tenant_id AND p.id = e.podcast_id AND p.deleted_at IS NULL
    JOIN ad_units u ON u.tenant_id = e.tenant_id AND u.podcast_id = e.podcast_id AND u.deleted_at IS NULL
    LEFT JOIN (
        SELECT DISTINCT pl.ad_unit_id, pl.episode_id FROM io_placements pl
        JOIN insertion_orders io ON io.tenant_id = pl.tenant_id AND io.id = pl.io_id AND io.status <> 'cancelled'
        WHERE pl.tenant_id = :tenant
    ) booked ON booked.ad_unit_id = u.id AND booked.episode_id = e.id
    WHERE e.tenant_id = :tenant AND e.deleted_at IS NULL AND e.publish_date >= :since AND e.publish_date < :until
    GROUP BY 1, 2
"""


async def open_slots(
    session: AsyncSession, tenant_id: uuid.UUID, first: date, last: date
) -> list[tuple[date, str, int, int]]:
    """(Monday, position, open slots, booked slots) of episodes released (UTC day) in [first, last]: every live ad
    unit of the episode's show is a slot, booked when a live order holds it."""
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    rows = await session.execute(text(OPEN_SLOTS), {"tenant": tenant_id, "since": since, "until": until})
    return [(row.week, row.position, int(row.open), int(row.booked)) for row in rows]


ETL_LATEST: Final = """
    SELECT DISTINCT ON (coalesce(i.source, i.preset, i.origin))
           coalesce(i.source, i.preset, i.origin) AS source, i.file_name, i.status, i.created_at, i.finished_at,
           i.rows_imported, i.error_count
    FROM etl_imports i
    WHERE i.tenant_id = :tenant AND i.duplicate_of IS NULL
    ORDER BY coalesce(i.source, i.preset, i.origin), i.created_at DESC, i.id
"""
ETL_PERIOD: Final = """
    SELECT coalesce(i.source, i.preset, i.origin) AS source,
           count(*) AS imports,
           count(*) FILTER (WHERE i.status = 'failed') AS failed,
           coalesce(sum(i.error_count) FILTER (WHERE i.status = 'failed'), 0) AS rows_rejected,
           coalesce(sum(i.rows_skipped), 0) AS rows_skipped,
           max(i.finished_at) FILTER (WHERE i.status = 'completed') AS last_completed_at,
           max(i.last_sync_watermark) AS data_through
    FROM etl_imports i
    WHERE i.tenant_id = :tenant AND i.created_at >= :since AND i.created_at < :until AND i.duplicate_of IS NULL
    GROUP BY 1
"""
ETL_EVER: Final = """
    SELECT coalesce(i.source, i.preset, i.origin) AS source,
           max(i.finished_at) FILTER (WHERE i.status = 'completed') AS last_completed_at,
           max(i.last_sync_watermark) FILTER (WHERE i.status = 'completed') AS data_through
    FROM etl_imports i WHERE i.tenant_id = :tenant AND i.duplicate_of IS NULL
    GROUP BY 1
"""


async def etl_health(
    session: AsyncSession, tenant_id: uuid.UUID, since: datetime, until: datetime
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(latest import per source, the period's counts per source, last success per source ever). A source is the
    import's source label, else its preset, else how it arrived (upload or url)."""
    latest = [dict(row._mapping) for row in await session.execute(text(ETL_LATEST), {"tenant": tenant_id})]
    params = {"tenant": tenant_id, "since": since, "until": until}
    period = {row.source: dict(row._mapping) for row in await session.execute(text(ETL_PERIOD), params)}
    ever = {row.source: dict(row._mapping) for row in await session.execute(text(ETL_EVER), {"tenant": tenant_id})}
    return latest, period, ever


REASONS: Final = """
    SELECT reason, sum(requests) AS requests FROM download_tallies
    WHERE tenant_id = :tenant AND day BETWEEN :first AND :last
    GROUP BY reason
"""


async def request_reasons(session: AsyncSession, tenant_id: uuid.UUID, first: date, last: date) -> dict[str, int]:
    """Requests recorded per counting reason over [first, last] (raw requests, before any filter)."""
    rows = await session.execute(text(REASONS), {"tenant": tenant_id, "first": first, "last": last})
    return {row.reason: int(row.requests) for row in rows}


COUNT_RUNS: Final = """
    SELECT max(day) FILTER (WHERE status = 'completed') AS last_counted_day,
           count(*) FILTER (WHERE status = 'failed' AND day BETWEEN :first AND :last) AS failed_runs,
           max(finished_at) FILTER (WHERE status = 'completed') AS last_finished_at
    FROM count_runs WHERE tenant_id = :tenant
"""


async def count_runs(session: AsyncSession, tenant_id: uuid.UUID, first: date, last: date) -> dict[str, Any]:
    row = (await session.execute(text(COUNT_RUNS), {"tenant": tenant_id, "first": first, "last": last})).one()
    return dict(row._mapping)


DELIVERIES: Final = """
    SELECT outcome, count(*) AS deliveries FROM conversion_deliveries
    WHERE tenant_id = :tenant AND received_at >= :since AND received_at < :until
    GROUP BY outcome
"""


async def conversion_deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, since: datetime, until: datetime
) -> dict[str, int]:
    """Platform events accepted in the period, by outcome (stored, duplicate_order, ignored)."""
    rows = await session.execute(text(DELIVERIES), {"tenant": tenant_id, "since": since, "until": until})
    return {row.outcome: int(row.deliveries) for row in rows}


CAMPAIGNS: Final = """
    SELECT DISTINCT c.id, c.name FROM campaigns c
    JOIN insertion_orders io ON io.tenant_id = c.tenant_id AND io.campaign_id = c.id AND io.status <> 'cancelled'
    WHERE c.tenant_id = :tenant AND c.sponsor_id = :sponsor AND io.flight_start <= :last AND io.flight_end >= :first
    ORDER BY c.name, c.id
"""


async def sponsor_campaigns(
    session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID, first: date, last: date
) -> list[tuple[uuid.UUID, str]]:
    """The sponsor's campaigns with a live order whose flight overlaps [first, last]."""
    params = {"tenant": tenant_id, "sponsor": sponsor_id, "first": first, "last": last}
    return [(row.id, row.name) for row in await session.execute(text(CAMPAIGNS), params)]


STAGE_TOTALS: Final = """
    SELECT c.stage, c.currency, count(*) AS deals, sum(c.value_cents) AS value_cents,
           sum(round(c.value_cents * CASE WHEN c.stage IN ('won', 'lost') THEN p.probability
                                          ELSE coalesce(c.probability, p.probability) END))::bigint
             AS weighted_value_cents
    FROM campaigns c
    JOIN sponsors s ON s.tenant_id = c.tenant_id AND s.id = c.sponsor_id AND s.deleted_at IS NULL
    JOIN unnest(CAST(:stages AS text[]), CAST(:probabilities AS numeric[])) AS p(stage, probability)
      ON p.stage = c.stage
    WHERE c.tenant_id = :tenant AND c.deleted_at IS NULL
    GROUP BY c.stage, c.currency
"""


async def stage_totals(
    session: AsyncSession, tenant_id: uuid.UUID, probabilities: dict[str, Decimal]
) -> list[dict[str, Any]]:
    """(stage, currency, deals, value_cents, weighted_value_cents) of every deal: an open deal weighted by its own
    probability, else its stage's; a closed one by its stage's (won 1, lost 0), as the deal board weighs them."""
    params = {
        "tenant": tenant_id,
        "stages": list(probabilities),
        "probabilities": list(probabilities.values()),
    }
    return [dict(row._mapping) for row in await session.execute(text(STAGE_TOTALS), params)]


PENDING_AGENTS: Final = "SELECT count(*) FROM unknown_user_agents WHERE tenant_id = :tenant AND label IS NULL"


async def pending_user_agents(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """User agents in the review queue without a label (measurement's 'pending')."""
    return int((await session.execute(text(PENDING_AGENTS), {"tenant": tenant_id})).scalar_one())


SOURCES: Final = """
    SELECT id, sponsor_id, name, kind, active, events_received, signature_failures, last_event_at, last_failure_at,
           last_failure_reason
    FROM conversion_sources WHERE tenant_id = :tenant
    ORDER BY name, id
"""


async def conversion_sources(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every conversion source with its health counters."""
    return [dict(row._mapping) for row in await session.execute(text(SOURCES), {"tenant": tenant_id})]


RECENT_RELEASES: Final = f"""
    SELECT podcast_id, released FROM (
        SELECT e.podcast_id, {_RELEASED} AS released,
               row_number() OVER (PARTITION BY e.podcast_id ORDER BY e.publish_date DESC, e.id) AS recency
        FROM episodes e
        JOIN podcasts p ON p.tenant_id = e.tenant_id AND p.id = e.podcast_id AND p.deleted_at IS NULL
        WHERE e.tenant_id = :tenant AND e.deleted_at IS NULL AND e.publish_date IS NOT NULL
    ) ranked WHERE recency <= :latest AND released <= :today
"""


async def recent_releases(
    session: AsyncSession, tenant_id: uuid.UUID, today: date, latest: int
) -> dict[uuid.UUID, list[date]]:
    """Of each live show's `latest` episodes (scheduled ones too), the release days (UTC) up to `today`: the sample
    the inventory calendar takes a show's cadence from."""
    params = {"tenant": tenant_id, "today": today, "latest": latest}
    found: dict[uuid.UUID, list[date]] = {}
    for row in await session.execute(text(RECENT_RELEASES), params):
        found.setdefault(row.podcast_id, []).append(row.released)
    return found


FLIGHT_ORDERS: Final = """
    SELECT io.flight_start, io.flight_end, u.position FROM insertion_orders io
    JOIN ad_units u ON u.tenant_id = io.tenant_id AND u.id = io.ad_unit_id
    WHERE io.tenant_id = :tenant AND io.status <> 'cancelled' AND io.flight_start <= :last AND io.flight_end >= :first
      AND NOT EXISTS (SELECT 1 FROM io_placements p WHERE p.tenant_id = io.tenant_id AND p.io_id = io.id)
"""


async def flight_orders(
    session: AsyncSession, tenant_id: uuid.UUID, first: date, last: date
) -> list[tuple[date, date, str]]:
    """(flight start, flight end, position) of the orders booked unassigned within a flight overlapping
    [first, last] that are not cancelled."""
    rows = await session.execute(text(FLIGHT_ORDERS), {"tenant": tenant_id, "first": first, "last": last})
    return [(row.flight_start, row.flight_end, row.position) for row in rows]
