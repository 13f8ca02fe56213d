"""Dashboards: each dashboard's service call on a large workspace, vs the raw SQL of the same aggregations over the
base tables, in the same run and on the same database.

Generated in the database (INSERT ... SELECT over generate_series; loading is not timed) into a bench database migrated
like production: one workspace of 50 shows x 100 episodes (a release every 4 days per show, the last week of releases
still to come), 3 ad units per show (pre and post dynamic, mid baked in with a flat price), 200 sponsors with 400
deals at every stage (won and lost ones with their stage history), 2,000 insertion orders of 28-day flights spread
over the last year and the next two months (60 % booked into the episodes released in their flight, the rest
unassigned; past flights completed or, one in ten, makegood with its makegood), 10 M counted downloads (popular
episodes more, most in the first weeks after release; a fifth of the episodes counted by both prefix and host logs),
a year of request tallies and count runs, metrics imports, unknown user agents, conversion sources with 100,000
delivered events, and a stored match for every advertiser and show. Downloads are written in day order, as counting
writes them, unlogged, with their indexes built afterwards (not the primary key, which no timed statement reads);
the rollup is filled by the migration's backfill statement, except for the last 500,000 downloads, inserted with the
rollup's trigger on (`trigger_overhead`: their insert time over that of the 500,000 before them, inserted without
it). No attribution run is generated: the
campaign results card shows delivery only, as for a campaign never calculated.

Timed after one warm-up call, N calls each (a side stops early once it has taken 10 s and made 3 calls, or 2 when a
call takes over 5 s, the warm-up counting as one when it took over 10 s: the raw SQL of the creator's cards takes
seconds a call), as the runtime role under row-level security, each call its own transaction:
- the service: podsponsor.dashboards.service.{creator,advertiser,ops}_dashboard for the default period (the last 30
  days), the advertiser's for its busiest sponsor, each answer serialised to JSON as the endpoint does;
- the raw SQL: for each card the statement(s) a hand-written report would run over the base tables (downloads,
  insertion_orders, io_placements, campaigns, ...) for the same numbers, rows fetched, no Python on top. The raw
  delivery SQL simplifies the counting rules (no bonus slots, no accrual for unassigned baked-in orders), so it does
  at most the work the service's rules need.
A ratio (service p95 ÷ SQL p95) under 1: the service is faster than the raw SQL (it reads the rollup).
Default size: under 5 minutes on 2 cores.
Usage: python bench/dashboards.py [--downloads 10000000] [--calls 15]
Last line: {"bench": "dashboards", "worst_p95_ratio_vs_sql", "worst_p95_ms", "creator": {...}, ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import text

from bench._db import bench_database
from podsponsor.db.urls import libpq_conninfo

DATABASE = "podsponsor_bench_dashboards"
SHOWS, EPISODES_PER_SHOW, SPONSORS, DEALS, ORDERS = 50, 100, 200, 400, 2000
CHUNK = 1_000_000
# Connections loading chunks at once.
LOADERS = 2
# Inserted with the rollup's trigger on, to time what the trigger adds.
TRIGGERED_CHUNK = 500_000
# A side of a measurement stops after this long once it has MIN_CALLS calls.
BUDGET_S = 10.0
MIN_CALLS = 3

GENERATE = [
    # Shows, their episodes (every 4 days, the last 7 still to come) and ad units.
    """INSERT INTO podcasts (tenant_id, id, title)
       SELECT %(t)s, gen_random_uuid(), 'Show ' || k FROM generate_series(0, {shows} - 1) k""",
    """CREATE TEMP TABLE shows_idx AS
       SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id FROM podcasts WHERE tenant_id = %(t)s""",
    """INSERT INTO episodes (tenant_id, id, podcast_id, guid, title, publish_date)
       SELECT %(t)s, gen_random_uuid(), s.id, s.k || '-' || e, 'Episode ' || e,
              (%(today)s::date - 4 * ({per_show} - 1 - e) + 28 + (s.k %% 4))::timestamptz + interval '6 hours'
       FROM shows_idx s CROSS JOIN generate_series(0, {per_show} - 1) e""",
    """INSERT INTO ad_units (tenant_id, id, podcast_id, name, position, length_seconds, read_type, insertion,
                            rate_cpm_cents, flat_rate_cents)
       SELECT %(t)s, gen_random_uuid(), s.id, p.position || '-roll', p.position, 60, 'host_read', p.insertion,
              p.cpm, p.flat
       FROM shows_idx s CROSS JOIN (VALUES ('pre', 'dynamic', 1800, NULL::bigint), ('mid', 'baked_in', 2500, 150000),
                                          ('post', 'dynamic', 1500, NULL)) AS p(position, insertion, cpm, flat)""",
    # Sponsors and deals at every stage; closed ones with their stage history.
    """INSERT INTO sponsors (tenant_id, id, name, industry)
       SELECT %(t)s, gen_random_uuid(), 'Sponsor ' || k, (ARRAY['sleep', 'retail', 'software', 'finance'])[k %% 4 + 1]
       FROM generate_series(0, {sponsors} - 1) k""",
    """CREATE TEMP TABLE sponsors_idx AS
       SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id FROM sponsors WHERE tenant_id = %(t)s""",
    """INSERT INTO campaigns (tenant_id, id, sponsor_id, name, stage, stage_changed_at, value_cents, expected_close)
       SELECT %(t)s, gen_random_uuid(), s.id, 'Deal ' || n,
              (ARRAY['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'])[n %% 6 + 1],
              now() - make_interval(days => (n * 7) %% 360), 100000 + (n * 7919) %% 5000000,
              %(today)s::date + ((n * 13) %% 360) - 180
       FROM generate_series(0, {deals} - 1) n JOIN sponsors_idx s ON s.k = n %% {sponsors}""",
    """INSERT INTO deal_stage_changes (tenant_id, id, campaign_id, from_stage, to_stage, changed_at)
       SELECT tenant_id, gen_random_uuid(), id, 'negotiation', stage, stage_changed_at FROM campaigns
       WHERE tenant_id = %(t)s AND stage IN ('won', 'lost')""",
    """CREATE TEMP TABLE campaigns_idx AS
       SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, id, sponsor_id FROM campaigns WHERE tenant_id = %(t)s""",
    # Orders of 28-day flights over the last year and the next two months.
    """INSERT INTO insertion_orders (tenant_id, id, number, campaign_id, sponsor_id, podcast_id, ad_unit_id,
                                    flight_start, flight_end, impression_goal, pricing_model, cpm_cents, pacing_mode,
                                    status)
       SELECT %(t)s, gen_random_uuid(), 'IO-' || n, c.id, c.sponsor_id, s.id, u.id, f.start, f.start + 27,
              20000 + (n * 104729) %% 180000, 'cpm', u.rate_cpm_cents,
              (ARRAY['even', 'asap', 'front_loaded'])[n %% 3 + 1],
              CASE WHEN f.start + 27 < %(today)s::date THEN CASE WHEN n %% 10 = 0 THEN 'makegood' ELSE 'completed' END
                   WHEN f.start > %(today)s::date THEN 'scheduled' ELSE 'active' END
       FROM generate_series(0, {orders} - 1) n
       JOIN campaigns_idx c ON c.k = n %% {deals}
       JOIN shows_idx s ON s.k = (n * 7) %% {shows}
       JOIN ad_units u ON u.tenant_id = %(t)s AND u.podcast_id = s.id
                      AND u.position = (ARRAY['pre', 'mid', 'post'])[n %% 3 + 1]
       CROSS JOIN LATERAL (SELECT %(today)s::date - 365 + (n * 211) %% 425 AS start) f""",
    """INSERT INTO io_placements (tenant_id, id, io_id, ad_unit_id, episode_id, industry)
       SELECT io.tenant_id, gen_random_uuid(), io.id, io.ad_unit_id, e.id, 'any'
       FROM insertion_orders io
       JOIN episodes e ON e.tenant_id = io.tenant_id AND e.podcast_id = io.podcast_id
        AND (e.publish_date AT TIME ZONE 'UTC')::date BETWEEN io.flight_start AND io.flight_end
       WHERE io.tenant_id = %(t)s AND ('x' || substr(md5(io.number), 1, 8))::bit(32)::int %% 5 IN (0, 1, 2)
       ON CONFLICT DO NOTHING""",
    """INSERT INTO makegoods (tenant_id, id, io_id, goal, delivered, shortfall_impressions, shortfall_cents)
       SELECT tenant_id, gen_random_uuid(), id, impression_goal, impression_goal * 8 / 10,
              impression_goal - impression_goal * 8 / 10, (impression_goal - impression_goal * 8 / 10) * 25 / 10
       FROM insertion_orders WHERE tenant_id = %(t)s AND status = 'makegood'""",
    # Each episode by (show, number), for the downloads.
    # A table, not a temporary one: the loaders' own connections read it (dropped once loaded).
    """CREATE TABLE bench_episodes AS
       SELECT split_part(e.guid, '-', 1)::int AS show, split_part(e.guid, '-', 2)::int AS number, e.id, e.podcast_id,
              ('x' || substr(md5(e.id::text), 1, 8))::bit(32)::int %% 5 = 0 AS dual
       FROM episodes e WHERE e.tenant_id = %(t)s""",
    "CREATE UNIQUE INDEX ON bench_episodes (show, number)",
    "ANALYZE bench_episodes",
]
# In day order, as counting writes them (a day at a time): an even number a day over the last 360 days; the show by
# popularity (the first shows far more), the episode by its age on the day (most downloads in the first weeks; an
# age before the show's first release counts for its first episode).
DOWNLOADS = """
    INSERT INTO downloads (tenant_id, id, day, window_start, window_type, podcast_id, episode_id, source_kind,
                           listener, requests, first_request_id, run_id)
    SELECT %(t)s, ('00000000-0000-4000-8000-' || lpad(to_hex(g.n), 12, '0'))::uuid, g.day, g.day::timestamptz,
           'calendar_day', e.podcast_id, e.id, CASE WHEN e.dual AND g.n %% 3 = 0 THEN 'logs' ELSE 'prefix' END,
           'listener-' || (g.n %% 2000003), 1, 'bench', %(run)s
    FROM (
        -- Volatile expressions in the select list: drawn for each row (a lateral subquery without a reference to
        -- the row would be drawn once).
        SELECT n, day, show,
               greatest(0, least({per_show} - 1, floor(
                   (day - age - %(today)s::date + 4 * ({per_show} - 1) - 28 - show %% 4) / 4.0)::int)) AS number
        FROM (
            SELECT n, %(today)s::date - 359 + (n * 360 / %(total)s)::int AS day,
                   floor(power(random(), 2) * {shows})::int AS show,
                   floor(-ln(1 - random() * 0.9999) * 9)::int AS age
            FROM generate_series(%(first)s::bigint, %(last)s::bigint) n
        ) drawn
    ) g
    JOIN bench_episodes e ON e.show = g.show AND e.number = g.number
"""
# The migration's backfill: what the triggers would have written row by row.
ROLLUP = """
    INSERT INTO dashboard_download_days (tenant_id, id, day, podcast_id, episode_id, source_kind, downloads)
    SELECT tenant_id, gen_random_uuid(), day, podcast_id, episode_id, source_kind, count(*) FROM downloads
    GROUP BY tenant_id, episode_id, day, source_kind, podcast_id
"""
TRIGGER = "dashboard_download_days_insert"
SIDE = [
    """INSERT INTO download_tallies (tenant_id, id, day, podcast_id, source_kind, reason, requests, run_id)
       SELECT %(t)s, gen_random_uuid(), %(today)s::date - d, s.id, 'prefix', r.reason, r.n + (d * 7 + s.k) %% 50,
              %(run)s
       FROM generate_series(0, 399) d CROSS JOIN shows_idx s
       CROSS JOIN (VALUES ('counted', 600), ('bot_ua', 40), ('bot_keyword', 10), ('head', 80), ('datacenter', 30))
             AS r(reason, n)""",
    """INSERT INTO count_runs (tenant_id, id, day, status, trigger, window_type, finished_at)
       SELECT %(t)s, gen_random_uuid(), %(today)s::date - d, CASE WHEN d %% 97 = 5 THEN 'failed' ELSE 'completed' END,
              'schedule', 'calendar_day', now() - make_interval(days => d)
       FROM generate_series(1, 400) d""",
    """INSERT INTO etl_imports (tenant_id, id, file_name, sha256, source, status, created_at, finished_at,
                              rows_imported, error_count, rows_skipped, last_sync_watermark)
       SELECT %(t)s, gen_random_uuid(), 'export-' || k || '.csv', md5(k::text) || md5(k::text),
              (ARRAY['libsyn', 'spotify', 'apple', 'youtube'])[k %% 4 + 1],
              CASE WHEN k %% 10 = 3 THEN 'failed' ELSE 'completed' END,
              now() - make_interval(hours => k * 14), now() - make_interval(hours => k * 14) + interval '1 minute',
              5000, CASE WHEN k %% 10 = 3 THEN 12 ELSE 0 END, k %% 7, %(today)s::date - (k * 14 / 24) - 1
       FROM generate_series(0, 599) k""",
    """INSERT INTO unknown_user_agents (tenant_id, id, user_agent, hits)
       SELECT %(t)s, gen_random_uuid(), 'Agent/' || k, k FROM generate_series(1, 300) k""",
    """INSERT INTO conversion_sources (tenant_id, id, sponsor_id, kind, name, token, signature_failures,
                                      last_failure_at)
       SELECT %(t)s, gen_random_uuid(), s.id, 'shopify', 'Shop ' || s.k, md5('source' || s.k), s.k %% 3,
              CASE WHEN s.k %% 3 > 0 THEN now() - make_interval(days => s.k %% 40) END
       FROM sponsors_idx s WHERE s.k < 100""",
    """INSERT INTO conversion_deliveries (tenant_id, id, source_id, event_id, outcome, received_at)
       SELECT %(t)s, gen_random_uuid(), c.id, 'evt-' || k,
              (ARRAY['stored', 'stored', 'duplicate_order', 'ignored'])[k %% 4 + 1],
              now() - make_interval(mins => k * 5)
       FROM generate_series(0, 99999) k
       JOIN (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS i FROM conversion_sources
             WHERE tenant_id = %(t)s) c
         ON c.i = k %% 100""",
    """INSERT INTO matches (tenant_id, id, sponsor_id, podcast_id, score, rationale, signals, missing)
       SELECT %(t)s, gen_random_uuid(), sp.id, sh.id, ((sp.k * 31 + sh.k * 17) %% 10000) / 100.0,
              'topic overlap and geography', '{}'::jsonb, '{}'
       FROM sponsors_idx sp CROSS JOIN shows_idx sh""",
]

# The raw SQL of each dashboard's aggregations, over the base tables.
CHOSEN = (
    "CASE WHEN count(*) FILTER (WHERE d.source_kind = 'logs') > 0 THEN count(*) FILTER (WHERE d.source_kind = 'logs') "
    "ELSE count(*) FILTER (WHERE d.source_kind = 'prefix') END"
)


def delivery_sql(orders: str) -> str:
    """Delivered downloads per order and day of the orders `orders` selects (io, podcast_id, flight, insertion)."""
    return f"""
    WITH chosen AS ({orders}),
    slots AS (
        SELECT o.id AS io_id, p.episode_id, o.flight_start AS first_day,
               CASE WHEN o.insertion = 'baked_in'
                    THEN greatest(o.flight_end, (e.publish_date AT TIME ZONE 'UTC')::date + 29)
                    ELSE o.flight_end END AS last_day
        FROM chosen o
        JOIN io_placements p ON p.tenant_id = :tenant AND p.io_id = o.id
        JOIN episodes e ON e.tenant_id = :tenant AND e.id = p.episode_id
    ), per_episode AS (
        SELECT s.io_id, d.day, {CHOSEN} AS n FROM slots s
        JOIN downloads d ON d.tenant_id = :tenant AND d.episode_id = s.episode_id
         AND d.day BETWEEN s.first_day AND least(s.last_day, :as_of)
        GROUP BY s.io_id, d.day, d.episode_id
        UNION ALL
        SELECT o.id, d.day, {CHOSEN} FROM chosen o
        JOIN downloads d ON d.tenant_id = :tenant AND d.podcast_id = o.podcast_id
         AND d.day BETWEEN o.flight_start AND least(o.flight_end, :as_of)
        WHERE NOT EXISTS (SELECT 1 FROM io_placements p WHERE p.tenant_id = :tenant AND p.io_id = o.id)
        GROUP BY o.id, d.day, d.episode_id
    )
    SELECT io_id, day, sum(n) FROM per_episode GROUP BY io_id, day
    """


def orders_sql(statuses: str, extra: str = "") -> str:
    return f"""
        SELECT io.id, io.podcast_id, io.flight_start, io.flight_end, u.insertion FROM insertion_orders io
        JOIN ad_units u ON u.tenant_id = io.tenant_id AND u.id = io.ad_unit_id
        WHERE io.tenant_id = :tenant AND io.status IN ({statuses}) AND io.flight_start <= :end
          AND io.flight_end >= :start {extra}"""


ATTRIBUTED = """
    SELECT date_trunc('month', c.occurred_at), c.sponsor_id, c.currency, sum(a.credit * c.value_cents)
    FROM attribution_credits a JOIN conversions c ON c.tenant_id = a.tenant_id AND c.id = a.conversion_id
    WHERE a.tenant_id = :tenant AND c.occurred_at >= :since AND c.occurred_at < :until
      AND a.run_id IN (SELECT DISTINCT ON (campaign_id) id FROM attribution_runs
                       WHERE tenant_id = :tenant AND status = 'completed' ORDER BY campaign_id, started_at DESC)
    GROUP BY 1, 2, 3
"""
CREATOR_SQL = [
    # Pacing's orders are among the revenue card's: one pass over their downloads serves both.
    delivery_sql(orders_sql("'scheduled', 'active', 'completed', 'makegood'")),
    ATTRIBUTED,
    """SELECT io.currency, count(*), sum(m.shortfall_impressions), sum(m.shortfall_cents) FROM makegoods m
       JOIN insertion_orders io ON io.tenant_id = m.tenant_id AND io.id = m.io_id
       WHERE m.tenant_id = :tenant AND m.settled_at IS NULL GROUP BY io.currency""",
    f"""SELECT day, sum(n) FROM (SELECT d.day, {CHOSEN} AS n FROM downloads d
        WHERE d.tenant_id = :tenant AND d.day BETWEEN :start AND :end GROUP BY d.day, d.episode_id) x GROUP BY day""",
    """WITH latest AS (SELECT id, (publish_date AT TIME ZONE 'UTC')::date AS released FROM episodes
                       WHERE tenant_id = :tenant AND deleted_at IS NULL AND publish_date IS NOT NULL
                       ORDER BY publish_date DESC LIMIT 10)
       SELECT d.episode_id, d.day - l.released, count(*) FROM latest l
       JOIN downloads d ON d.tenant_id = :tenant AND d.episode_id = l.id
        AND d.day BETWEEN l.released AND l.released + 89
       GROUP BY 1, 2""",
]
ADVERTISER_SQL = [
    """SELECT podcast_id, score, rationale FROM matches WHERE tenant_id = :tenant AND sponsor_id = :sponsor
       ORDER BY score DESC LIMIT 5""",
    f"""WITH ranked AS (
            SELECT e.id, e.podcast_id, (e.publish_date AT TIME ZONE 'UTC')::date AS released,
                   row_number() OVER (PARTITION BY e.podcast_id ORDER BY e.publish_date DESC) AS recency
            FROM episodes e WHERE e.tenant_id = :tenant AND e.deleted_at IS NULL
             AND (e.publish_date AT TIME ZONE 'UTC')::date <= CAST(:as_of AS date) - 30)
        SELECT r.podcast_id, u.id, u.flat_rate_cents, u.rate_cpm_cents, avg(t.n) FROM (
            SELECT r.podcast_id, r.id, sum(x.n) AS n FROM ranked r
            CROSS JOIN LATERAL (SELECT {CHOSEN} AS n FROM downloads d WHERE d.tenant_id = :tenant
                                AND d.episode_id = r.id AND d.day BETWEEN r.released AND r.released + 29
                                GROUP BY d.day) x
            WHERE r.recency <= 5 GROUP BY r.podcast_id, r.id) t
        JOIN ranked r ON r.id = t.id JOIN ad_units u ON u.tenant_id = :tenant AND u.podcast_id = t.podcast_id
        GROUP BY 1, 2, 3, 4""",
    """SELECT date_trunc('week', e.publish_date AT TIME ZONE 'UTC'), u.position, count(*) FILTER (WHERE p.id IS NULL)
       FROM episodes e JOIN ad_units u ON u.tenant_id = e.tenant_id AND u.podcast_id = e.podcast_id
       LEFT JOIN (SELECT p.* FROM io_placements p JOIN insertion_orders io ON io.tenant_id = p.tenant_id
                  AND io.id = p.io_id AND io.status <> 'cancelled') p
         ON p.tenant_id = e.tenant_id AND p.episode_id = e.id AND p.ad_unit_id = u.id
       WHERE e.tenant_id = :tenant AND e.publish_date >= date_trunc('week', CAST(:today AS date))
         AND e.publish_date < date_trunc('week', CAST(:today AS date)) + interval '8 weeks'
       GROUP BY 1, 2""",
    """SELECT podcast_id, released FROM (
           SELECT podcast_id, (publish_date AT TIME ZONE 'UTC')::date AS released,
                  row_number() OVER (PARTITION BY podcast_id ORDER BY publish_date DESC) AS recency
           FROM episodes WHERE tenant_id = :tenant AND deleted_at IS NULL AND publish_date IS NOT NULL) r
       WHERE recency <= 13 AND released <= :today""",
    """SELECT io.flight_start, io.flight_end, u.position FROM insertion_orders io
       JOIN ad_units u ON u.tenant_id = io.tenant_id AND u.id = io.ad_unit_id
       WHERE io.tenant_id = :tenant AND io.status <> 'cancelled'
         AND io.flight_start < date_trunc('week', CAST(:today AS date)) + interval '8 weeks'
         AND io.flight_end >= date_trunc('week', CAST(:today AS date))
         AND NOT EXISTS (SELECT 1 FROM io_placements p WHERE p.tenant_id = :tenant AND p.io_id = io.id)""",
    delivery_sql(orders_sql("'scheduled', 'active', 'completed', 'makegood'", "AND io.sponsor_id = :sponsor")),
]
OPS_SQL = [
    # The stage probabilities (workspace settings) and the sellers' names the figures are labelled with.
    "SELECT settings FROM tenants WHERE id = :tenant",
    "SELECT id, display_name FROM users WHERE tenant_id = :tenant",
    # Open deals weighted by their own probability or their stage's, won at 100 %, by close month.
    """SELECT date_trunc('month', CASE WHEN c.stage = 'won'
                                       THEN coalesce(c.expected_close, (c.stage_changed_at AT TIME ZONE 'UTC')::date)
                                       ELSE c.expected_close END) AS month,
              c.currency, c.stage = 'won' AS won, count(*), sum(c.value_cents),
              sum(round(c.value_cents * CASE WHEN c.stage = 'won' THEN 1
                  ELSE coalesce(c.probability, CASE c.stage WHEN 'lead' THEN 0.1 WHEN 'qualified' THEN 0.25
                                WHEN 'proposal' THEN 0.5 ELSE 0.75 END) END))
       FROM campaigns c JOIN sponsors s ON s.tenant_id = c.tenant_id AND s.id = c.sponsor_id AND s.deleted_at IS NULL
       WHERE c.tenant_id = :tenant AND c.deleted_at IS NULL AND c.stage <> 'lost' GROUP BY 1, 2, 3""",
    """SELECT c.stage, c.currency, count(*), sum(c.value_cents),
              sum(round(c.value_cents * CASE c.stage WHEN 'won' THEN 1 WHEN 'lost' THEN 0
                  ELSE coalesce(c.probability, CASE c.stage WHEN 'lead' THEN 0.1 WHEN 'qualified' THEN 0.25
                                WHEN 'proposal' THEN 0.5 ELSE 0.75 END) END))
       FROM campaigns c JOIN sponsors s ON s.tenant_id = c.tenant_id AND s.id = c.sponsor_id AND s.deleted_at IS NULL
       WHERE c.tenant_id = :tenant AND c.deleted_at IS NULL GROUP BY 1, 2""",
    # Each deal once, with its last close in the period.
    *[
        f"""SELECT {key}, min(s.name), h.to_stage, c.currency, count(*), sum(c.value_cents)
            FROM (SELECT DISTINCT ON (campaign_id) campaign_id, to_stage, changed_at FROM deal_stage_changes
                  WHERE tenant_id = :tenant AND to_stage IN ('won', 'lost') AND changed_at >= :since
                    AND changed_at < :until ORDER BY campaign_id, changed_at DESC, id) h
            JOIN campaigns c ON c.tenant_id = :tenant AND c.id = h.campaign_id AND c.deleted_at IS NULL
            JOIN sponsors s ON s.tenant_id = c.tenant_id AND s.id = c.sponsor_id AND s.deleted_at IS NULL
            GROUP BY 1, 3, 4"""
        for key in ("c.seller_id", "c.sponsor_id", "to_char(h.changed_at AT TIME ZONE 'UTC', 'YYYY-MM')")
    ],
    """SELECT DISTINCT ON (source) source, status, created_at FROM etl_imports WHERE tenant_id = :tenant
       ORDER BY source, created_at DESC""",
    """SELECT source, count(*), count(*) FILTER (WHERE status = 'failed'), sum(error_count), sum(rows_skipped)
       FROM etl_imports WHERE tenant_id = :tenant AND created_at >= :since AND created_at < :until GROUP BY 1""",
    """SELECT source, max(finished_at) FILTER (WHERE status = 'completed'), max(last_sync_watermark)
       FROM etl_imports WHERE tenant_id = :tenant GROUP BY 1""",
    "SELECT count(*) FROM unknown_user_agents WHERE tenant_id = :tenant AND label IS NULL",
    """SELECT reason, sum(requests) FROM download_tallies WHERE tenant_id = :tenant AND day BETWEEN :start AND :end
       GROUP BY 1""",
    """SELECT max(day) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed')
       FROM count_runs WHERE tenant_id = :tenant""",
    """SELECT id, name, signature_failures, last_failure_at FROM conversion_sources WHERE tenant_id = :tenant""",
    """SELECT outcome, count(*) FROM conversion_deliveries WHERE tenant_id = :tenant AND received_at >= :since
       AND received_at < :until GROUP BY 1""",
    """SELECT DISTINCT ON (r.campaign_id) c.sponsor_id, r.stats FROM attribution_runs r
       JOIN campaigns c ON c.tenant_id = r.tenant_id AND c.id = r.campaign_id
       WHERE r.tenant_id = :tenant AND r.status = 'completed' ORDER BY r.campaign_id, r.started_at DESC""",
]


def generate(owner: str, tenant_id: uuid.UUID, downloads: int) -> dict[str, float]:
    """As the owner role (past row-level security): downloads unlogged, indexes built after them; all but the last
    chunk without the rollup's trigger and rolled up by the migration's backfill, the last chunk with the trigger
    on, timed against the chunk before it to show what the trigger adds to counting."""
    today = datetime.now(UTC).date()
    params = {"t": str(tenant_id), "today": today, "run": str(uuid.uuid4()), "total": downloads}
    sizes = {"shows": SHOWS, "per_show": EPISODES_PER_SHOW, "sponsors": SPONSORS, "deals": DEALS, "orders": ORDERS}
    timings = {}
    with psycopg.connect(libpq_conninfo(owner), autocommit=True) as conn:
        started = time.perf_counter()
        for statement in GENERATE:
            conn.execute(statement.format(**sizes), params)
        timings["catalogue_and_orders_s"] = time.perf_counter() - started
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'downloads' AND indexname LIKE 'ix_%'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("ALTER TABLE downloads DROP CONSTRAINT pk_downloads")
        conn.execute("ALTER TABLE downloads SET UNLOGGED")
        # The last two chunks are timed alike, the first without the rollup's trigger, the second with it.
        timed = min(TRIGGERED_CHUNK, downloads // 10)
        bulk = downloads - 2 * timed

        def insert(first: int, last: int) -> float:
            started = time.perf_counter()
            conn.execute(DOWNLOADS.format(**sizes), {**params, "first": first, "last": last})
            return time.perf_counter() - started

        conn.execute(f"ALTER TABLE downloads DISABLE TRIGGER {TRIGGER}")
        started = time.perf_counter()
        with ThreadPoolExecutor(LOADERS) as pool:
            spans = [(first, min(first + CHUNK, bulk) - 1) for first in range(0, bulk, CHUNK)]
            list(pool.map(lambda span: _load(owner, DOWNLOADS.format(**sizes), params, *span), spans))
        timings["downloads_s"] = time.perf_counter() - started
        without_trigger = insert(bulk, bulk + timed - 1)
        started = time.perf_counter()
        conn.execute("SET work_mem = '256MB'")
        conn.execute(ROLLUP)
        timings["rollup_backfill_s"] = time.perf_counter() - started
        conn.execute(f"ALTER TABLE downloads ENABLE TRIGGER {TRIGGER}")
        timings["trigger_overhead"] = insert(bulk + timed, downloads - 1) / without_trigger
        timings["downloads_s"] += without_trigger
        conn.execute("DROP TABLE bench_episodes")
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        # The primary key (tenant, id) is left out: no statement timed here reads by it, and building it is a
        # fifth of the load.
        for _, definition in indexes:
            conn.execute(definition)
        timings["downloads_indexes_s"] = time.perf_counter() - started
        for statement in SIDE:
            conn.execute(statement, params)
        conn.execute("VACUUM ANALYZE")
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM downloads), (SELECT count(*) FROM dashboard_download_days), "
            "(SELECT count(*) FROM episodes), (SELECT count(*) FROM insertion_orders), "
            "(SELECT count(*) FROM insertion_orders WHERE status IN ('scheduled', 'active')), "
            "(SELECT sum(downloads) FROM dashboard_download_days)"
        ).fetchone()
        assert counts is not None
        rows, rollup, episodes_made, orders, live, rolled = counts
        assert rows == rolled, f"the rollup holds {rolled} downloads, the table {rows}"
        print(
            f"  {rows:,} downloads ({rollup:,} rollup rows), {episodes_made:,} episodes, {orders:,} orders "
            f"({live} live)"
        )
    return timings


def _load(owner: str, statement: str, params: dict[str, Any], first: int, last: int) -> None:
    """One chunk of downloads, on a connection of its own."""
    with psycopg.connect(libpq_conninfo(owner), autocommit=True) as conn:
        conn.execute(statement, {**params, "first": first, "last": last})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(call: Callable[[], Awaitable[Any]], calls: int) -> dict[str, float]:
    """p50 and p95 of `calls` calls after one to warm up; fewer once BUDGET_S has passed: at least MIN_CALLS, or 2
    for a call that takes more than half the budget. A warm-up call longer than the whole budget reads more than the
    cache holds, warm or not: it counts as the first of those 2."""
    started = time.perf_counter()
    await call()
    warm_up = time.perf_counter() - started
    least = MIN_CALLS if warm_up < BUDGET_S / 2 else 2
    times: list[float] = [warm_up * 1000] if warm_up > BUDGET_S else []
    began = time.perf_counter()
    while len(times) < calls and (len(times) < least or time.perf_counter() - began < BUDGET_S):
        gc.collect()
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "calls": len(times),
    }


async def run(downloads: int, calls: int) -> dict[str, Any]:
    _, urls = bench_database(DATABASE)
    from podsponsor.auth.schemas import SignupIn
    from podsponsor.auth.service import signup
    from podsponsor.auth.subject import system_subject
    from podsponsor.config import get_settings
    from podsponsor.dashboards import scope, service
    from podsponsor.db import engine
    from podsponsor.db.tenancy import tenant_transaction

    engine.configure(get_settings(), urls)
    try:
        tenant_id = uuid.uuid4()
        async with tenant_transaction(tenant_id) as session:
            data = SignupIn(
                workspace_name="Bench", workspace_slug="bench", email="bench@example.com", password="x" * 16
            )
            await signup(session, tenant_id, data)
        started = time.perf_counter()
        loading = generate(urls.owner, tenant_id, downloads)
        print(f"generated in {time.perf_counter() - started:.1f} s: {json.dumps(loading)}")
        today = datetime.now(UTC).date()
        period = scope.period(None, None, today=today)
        subject = system_subject(tenant_id)
        async with tenant_transaction(tenant_id) as session:
            busiest = (
                await session.execute(
                    text(
                        "SELECT sponsor_id FROM insertion_orders WHERE tenant_id = :tenant AND flight_end >= :start "
                        "AND flight_start <= :end GROUP BY sponsor_id ORDER BY count(*) DESC, sponsor_id LIMIT 1"
                    ),
                    {"tenant": tenant_id, "start": period.start, "end": period.end},
                )
            ).scalar_one()
        params = {
            "tenant": tenant_id,
            "sponsor": busiest,
            "start": period.start,
            "end": period.end,
            "as_of": period.as_of,
            "today": today,
            "since": period.since,
            "until": period.until,
        }

        def dashboard(kind: str) -> Callable[[], Awaitable[Any]]:
            async def call() -> str:
                async with tenant_transaction(tenant_id) as session:
                    if kind == "creator":
                        found = await service.creator_dashboard(session, subject, period)
                    elif kind == "advertiser":
                        found = await service.advertiser_dashboard(session, subject, period, busiest)
                    else:
                        found = await service.ops_dashboard(session, subject, period)
                return found.model_dump_json()

            return call

        def raw(statements: list[str]) -> Callable[[], Awaitable[Any]]:
            async def call() -> None:
                async with tenant_transaction(tenant_id) as session:
                    for statement in statements:
                        (await session.execute(text(statement), params)).all()

            return call

        results: dict[str, Any] = {}
        for kind, statements in (("creator", CREATOR_SQL), ("advertiser", ADVERTISER_SQL), ("ops", OPS_SQL)):
            found = await measure(dashboard(kind), calls)
            baseline = await measure(raw(statements), calls)
            results[kind] = {
                **found,
                "sql_p50_ms": baseline["p50_ms"],
                "sql_p95_ms": baseline["p95_ms"],
                "sql_calls": baseline["calls"],
                "p95_ratio_vs_sql": round(found["p95_ms"] / baseline["p95_ms"], 3),
            }
            print(f"  {kind}: {json.dumps(results[kind])}")
        return {
            "bench": "dashboards",
            "downloads": downloads,
            "calls": calls,
            "load": {name: round(seconds, 1) for name, seconds in loading.items()},
            **results,
            "worst_p95_ratio_vs_sql": max(r["p95_ratio_vs_sql"] for r in results.values()),
            "worst_p95_ms": max(r["p95_ms"] for r in results.values()),
        }
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--downloads", type=int, default=10_000_000)
    parser.add_argument("--calls", type=int, default=15)
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args.downloads, args.calls))
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
