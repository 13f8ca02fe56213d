"""Matchmaking: every advertiser-show pair of a large workspace, 2,000 advertisers x 5,000 shows = 10 M pairs, scored
by the whole-workspace recalculation as the worker runs it, block by block; beside it, the same scoring of every pair
unchunked (one block of every advertiser), in the same run and on the same database.

Generated in PostgreSQL (INSERT ... SELECT generate_series, seeded random(); about 15-30 s, not timed) in a bench
database migrated like production: 2,000 sponsors in 20 industries with target countries (four in five), age and
gender targets (seven in ten), topics and a brand-safety tolerance, four in five with a brief (flight, positions,
slots, keywords; one in seven blocking a category); 5,000 shows in 18 categories with descriptions, seven in ten with
an audience profile, some explicit, nine in ten selling ad units; 5 episodes per show (titles and descriptions in
the words of the show's categories, a sensitive word now and then in true crime, comedy and news), one show in five
with an episode scheduled, one episode in fifty with a transcript; ~720,000 counted downloads over the last 85 days,
one in twenty without a country, so that nine shows in ten reach the 100 located downloads geo needs; ~1,400 orders
of 700 sponsors: past ones delivered and attributed (~87,000 conversions credited under a default linear model, so
historical lift is present), live and future ones, some exclusive, a few placed into the scheduled episodes.

Measured in one process of its own (`--child`), so that its memory is its own; the resident-set high-water mark
(resource.getrusage's ru_maxrss) is started again before each measurement (Linux's /proc/self/clear_refs):
- scoring every pair as the job's first pass does it (the static tables, every block's six signals, conflicts and
  scores, the choice of each advertiser's and each show's best `keep_per_entity`): chunked (engine.BLOCK_ADVERTISERS
  advertisers per block) on the first --small advertisers and on all, and unchunked on all; time, peak RSS, its growth
  over the gathered inputs, and tracemalloc's peak (numpy reports its buffers to it; a second run, not timed);
- the job, `podsponsor.matching.tasks.run_tenant` on a run queued by `service.recalculate`: seconds end to end,
  split into gather, score (the first pass, then the kept pairs explained) and store (the upsert of the kept matches:
  COPY into a batch table and INSERT ... SELECT; the stale ones removed; rows and event), pairs/s, matches stored and
  peak RSS.
Ratios: chunked / unchunked scoring for time and peak memory (below 1: chunking is cheaper), and the growth of the
chunked scoring's memory at all advertisers / at --small (how it grows with the workspace).
Usage: python bench/matching.py [--advertisers 2000] [--shows 5000] [--episodes 5] [--small 500] [--no-trace]
(embedded PostgreSQL, or DATABASE_URL). Last line: {"bench": "matching", "pairs_per_s", "seconds", "peak_mb",
"ratio_time_chunked_vs_unchunked", "ratio_peak_chunked_vs_unchunked", "gather_s", "score_s", "store_s", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.engine import make_url

from bench._db import bench_database
from podsponsor.db.urls import libpq_conninfo
from podsponsor.matching.inputs import MIN_LOCATED_DOWNLOADS

DATABASE = "podsponsor_bench_matching"
SEED = 0.2026
# Words a show's episodes are written from, by category; a show talks in its categories' words and the generic ones.
CATEGORIES = {
    "Technology": "software startup developer cloud gadget smartphone coding engineering data security robot chip "
    "laptop app productivity",
    "Business": "entrepreneur investing marketing startup leadership finance economy sales management founder revenue "
    "strategy career money",
    "True Crime": "murder detective investigation killer case evidence trial court crime mystery unsolved witness "
    "police suspect prison",
    "Comedy": "jokes standup improv funny sketch laughs comedian roast parody banter awkward prank sitcom satire",
    "News": "politics election government policy economy world headlines report briefing analysis parliament climate "
    "vote war",
    "Sports": "football basketball soccer baseball tennis coach playoffs league fantasy training athlete season golf "
    "hockey betting",
    "Health & Fitness": "fitness nutrition workout running yoga wellness sleep diet meditation strength health "
    "marathon "
    "recovery protein mindfulness",
    "Society & Culture": "culture relationships identity family stories community philosophy interviews society life "
    "friendship dating",
    "Education": "learning language teaching students science lessons study math university course knowledge skills "
    "tutorial",
    "Arts": "design painting photography books writing poetry literature theater architecture crafts fashion "
    "creativity museum artist",
    "Food": "recipes cooking kitchen chef baking restaurant wine coffee dinner vegan grilling bread cuisine flavor "
    "meals",
    "Science": "physics biology space astronomy chemistry research climate evolution brain genetics planet experiment "
    "universe ocean",
    "TV & Film": "movies television streaming series reviews actors directors cinema recap hollywood trailers "
    "documentary horror",
    "Music": "albums songs musicians concerts guitar hiphop jazz rock producers playlist vinyl band lyrics festival",
    "Kids & Family": "parenting kids children family school bedtime stories toddler teens moms dads baby games",
    "Leisure": "travel gaming hobbies outdoors camping hiking cars garden videogames collecting fishing adventure "
    "vacation pets dogs",
    "History": "history ancient empire medieval revolution archive civilization kings battles biography century "
    "dynasty",
    "Religion & Spirituality": "faith spirituality prayer bible church meditation buddhism sermon belief soul",
}
GENERIC = "conversation guest host story ideas people time life world interview questions answers advice tips"
SENSITIVE = {"True Crime": "murder killer homicide violence", "Comedy": "damn crap drunk", "News": "war terrorism"}
INDUSTRIES = {
    "software": "software developer cloud productivity startup app security data coding",
    "finance": "investing finance money retirement banking economy",
    "fitness": "fitness workout running nutrition strength training health yoga",
    "meal kits": "cooking recipes meals kitchen dinner food chef",
    "travel": "travel vacation adventure outdoors camping hiking",
    "gaming": "gaming videogames games console",
    "fashion": "fashion style design",
    "automotive": "cars driving electric racing",
    "insurance": "insurance family home cars health",
    "education": "learning courses language students skills university",
    "mattresses": "sleep bedtime wellness health",
    "streaming": "movies television series streaming documentary",
    "beverages": "coffee wine flavor",
    "pet food": "pets dogs family",
    "books": "books reading stories literature writing",
    "music gear": "music guitar musicians producers albums",
    "sports betting": "sports football basketball fantasy betting",
    "telecom": "smartphone network data mobile",
    "home goods": "home garden kitchen design family",
    "mental health": "therapy mindfulness meditation wellness sleep",
}
COUNTRIES = ("US", "GB", "CA", "AU", "DE", "FR", "ES", "BR", "MX", "IN", "NL", "SE", "IE", "NZ", "IT")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
# Built in the load session, dropped with it: each show's words, home country and downloads to make.
SETUP = """
SET TIME ZONE 'UTC';
SET session_replication_role = replica;  -- no triggers: the rows are consistent by construction
SELECT setseed({seed});
CREATE TEMP TABLE bench_categories AS
    SELECT n::int, name, string_to_array(words, ' ') AS words,
           string_to_array(coalesce(sensitive, ''), ' ') AS sensitive
    FROM ROWS FROM (jsonb_to_recordset({categories}::jsonb) AS (name text, words text, sensitive text))
         WITH ORDINALITY AS c(name, words, sensitive, n);
CREATE TEMP TABLE bench_industries AS
    SELECT n::int, name, string_to_array(words, ' ') AS words
    FROM ROWS FROM (jsonb_to_recordset({industries}::jsonb) AS (name text, words text))
         WITH ORDINALITY AS i(name, words, n);
"""
SHOWS = """
CREATE TEMP TABLE bench_shows AS
    SELECT n, gen_random_uuid() AS id, c1, CASE WHEN random() < 0.4 THEN 1 + (c1 + 1 + floor(random() * 3)::int) % {nc}
           END AS c2, {countries}[1 + floor(random() ^ 2 * {ncountries})::int] AS home,
           -- one show in ten has too few located downloads for geo
           CASE WHEN random() < 0.1 THEN 20 + floor(random() * 70) ELSE 110 + floor(random() * 90) END::int
               AS downloads,
           random() < 0.9 AS sells, random() < 0.2 AS scheduled
    FROM (SELECT n, 1 + floor(random() * {nc})::int AS c1 FROM generate_series(1, {shows}) n) s;
CREATE TEMP TABLE bench_show_words AS
    SELECT s.n, s.id, c1.name AS category, c2.name AS category2,
           c1.words || coalesce(c2.words, '{{}}') || string_to_array({generic}, ' ') AS words,
           c1.sensitive || coalesce(c2.sensitive, '{{}}') AS sensitive
    FROM bench_shows s JOIN bench_categories c1 ON c1.n = s.c1 LEFT JOIN bench_categories c2 ON c2.n = s.c2;
ANALYZE bench_shows;
ANALYZE bench_show_words;
INSERT INTO podcasts (tenant_id, id, title, description, categories, explicit, audience_profile)
SELECT {tenant}, w.id, initcap(w.words[1 + floor(random() * cardinality(w.words))::int]) || ' '
       || initcap(w.words[1 + floor(random() * cardinality(w.words))::int]) || ' ' || to_char(w.n, 'FM00000'),
       array_to_string(ARRAY(SELECT w.words[1 + floor(random() * cardinality(w.words))::int]
                             FROM generate_series(1, 30)), ' '),
       array_remove(ARRAY[w.category, w.category2], NULL),
       random() < CASE WHEN cardinality(w.sensitive) > 1 THEN 0.3 ELSE 0.05 END,
       CASE WHEN random() < 0.7 THEN jsonb_build_object(
           'age_bands', (SELECT jsonb_object_agg(band, round((random() * random())::numeric, 3))
                         FROM unnest({age_bands}) band WHERE w.n IS NOT NULL),
           'gender', jsonb_build_object('female', round(f::numeric, 3), 'male', round(1 - f::numeric, 3)),
           'source', 'listener survey', 'sample_size', 200 + floor(random() * 5000)::int)
       ELSE '{{}}'::jsonb END
FROM bench_show_words w, LATERAL (SELECT 0.2 + random() * 0.6 + w.n * 0 AS f) g;
INSERT INTO ad_units (tenant_id, id, podcast_id, name, position, length_seconds, read_type, insertion, rate_cpm_cents)
SELECT {tenant}, gen_random_uuid(), s.id, initcap(p.position) || '-roll', p.position, 60, 'host_read', 'dynamic', 2500
FROM bench_shows s CROSS JOIN (VALUES ('pre', 0.6), ('mid', 1.0), ('post', 0.3)) p(position, share)
WHERE s.sells AND random() < p.share;
"""
EPISODES = """
CREATE TEMP TABLE bench_episodes AS
    SELECT gen_random_uuid() AS id, w.id AS podcast_id, e AS number, w.words, w.sensitive,
           current_date - (e * (7 + (w.n % 2) * 7) - w.n % 7) AS day
    FROM bench_show_words w, generate_series(1, {episodes}) e;
INSERT INTO bench_episodes (id, podcast_id, number, words, sensitive, day)
SELECT gen_random_uuid(), w.id, 0, w.words, w.sensitive, current_date + 3 + w.n % 28
FROM bench_show_words w JOIN bench_shows s ON s.id = w.id WHERE s.scheduled;
ANALYZE bench_episodes;
INSERT INTO episodes (tenant_id, id, podcast_id, guid, title, description, publish_date)
SELECT {tenant}, e.id, e.podcast_id, 'bench-' || e.id, initcap(t.title), d.description, e.day + time '09:00'
FROM bench_episodes e,
     LATERAL (SELECT array_to_string(ARRAY(SELECT e.words[1 + floor(random() * cardinality(e.words))::int]
                                           FROM generate_series(1, 6)), ' ') AS title) t,
     LATERAL (SELECT array_to_string(ARRAY(
         SELECT CASE WHEN cardinality(e.sensitive) > 1 AND random() < 0.04
                     THEN e.sensitive[1 + floor(random() * cardinality(e.sensitive))::int]
                     ELSE e.words[1 + floor(random() * cardinality(e.words))::int] END
         FROM generate_series(1, 60)), ' ') AS description) d;
INSERT INTO episode_transcripts (tenant_id, id, episode_id, format, text, words)
SELECT {tenant}, gen_random_uuid(), e.id, 'text', x.body, 1500
FROM (SELECT * FROM bench_episodes WHERE number > 0 AND random() < 0.02) e,
     LATERAL (SELECT array_to_string(ARRAY(SELECT e.words[1 + floor(random() * cardinality(e.words))::int]
                                           FROM generate_series(1, 1500)), ' ') AS body) x;
"""
DOWNLOADS = """
INSERT INTO downloads (tenant_id, id, day, window_start, window_type, podcast_id, episode_id, source_kind, listener,
                       country, requests, first_request_id, run_id)
SELECT {tenant}, gen_random_uuid(), d.day, d.day + time '08:00', 'calendar_day', s.id, e.id, 'prefix',
       'bench-' || s.n || '-' || g, CASE WHEN r < 0.05 THEN NULL WHEN r < 0.65 THEN s.home
                                         ELSE {countries}[1 + floor(random() * {ncountries})::int] END,
       1, 'bench', {run}
FROM bench_shows s JOIN bench_episodes e ON e.podcast_id = s.id AND e.number = 1,
     LATERAL (SELECT g, random() AS r, current_date - 1 - floor(random() * 85)::int AS day
              FROM generate_series(1, s.downloads) g) d;
"""
SPONSORS = """
CREATE TEMP TABLE bench_sponsors AS
    SELECT g.n, gen_random_uuid() AS id, i.name AS industry, i.words
    FROM generate_series(1, {advertisers}) g(n) JOIN bench_industries i ON i.n = 1 + g.n % {ni};
ANALYZE bench_sponsors;
INSERT INTO sponsors (tenant_id, id, name, industry, target_geo, target_demo, target_topics, brand_safety)
SELECT {tenant}, s.id, initcap(s.words[1 + s.n % cardinality(s.words)]) || ' ' || to_char(s.n, 'FM00000'), s.industry,
       CASE WHEN random() < 0.8 THEN ARRAY(SELECT DISTINCT {countries}[1 + floor(random() ^ 2 * {ncountries})::int]
                                            FROM generate_series(1, 1 + (s.n % 3))) ELSE '{{}}' END,
       CASE WHEN random() < 0.7 THEN jsonb_build_object(
           'age_bands', to_jsonb(ARRAY(SELECT {age_bands}[b]
                                       FROM generate_series(1 + s.n % 3, 2 + s.n % 3 + s.n % 2) b)),
           'gender', CASE s.n % 4 WHEN 0 THEN '["female"]'::jsonb WHEN 1 THEN '["male"]'::jsonb
                     ELSE '["female", "male"]'::jsonb END)
       ELSE '{{}}'::jsonb END,
       ARRAY(SELECT DISTINCT s.words[1 + floor(random() * cardinality(s.words))::int]
             FROM generate_series(1, 2 + s.n % 3)),
       (ARRAY['strict', 'moderate', 'moderate', 'permissive'])[1 + s.n % 4]
FROM bench_sponsors s;
INSERT INTO match_briefs (tenant_id, id, sponsor_id, flight_start, flight_end, positions, slots_needed, keywords,
                          blocked_categories)
SELECT {tenant}, gen_random_uuid(), s.id, current_date + f.first,
       current_date + f.first + 14 + floor(random() * 76)::int,
       CASE s.n % 4 WHEN 0 THEN '{{}}'::text[] WHEN 1 THEN '{{mid}}' WHEN 2 THEN '{{pre,mid}}' ELSE '{{post}}' END,
       1 + floor(random() * 40)::int,
       ARRAY(SELECT s.words[1 + floor(random() * cardinality(s.words))::int] FROM generate_series(1, 1 + s.n % 2)),
       CASE WHEN s.n % 7 = 0 THEN ARRAY[(ARRAY['True Crime', 'Comedy', 'News'])[1 + s.n % 3]] ELSE '{{}}' END
FROM bench_sponsors s, LATERAL (SELECT floor(random() * 60)::int + s.n * 0 AS first) f
WHERE s.n % 5 <> 0;
"""
ORDERS = """
INSERT INTO campaigns (tenant_id, id, sponsor_id, name, stage, value_cents)
SELECT {tenant}, gen_random_uuid(), s.id, 'Campaign ' || s.n, 'won', 1000000
FROM bench_sponsors s WHERE s.n <= {buyers};
CREATE TEMP TABLE bench_units AS
    SELECT row_number() OVER () AS n, id, podcast_id FROM ad_units WHERE tenant_id = {tenant};
ANALYZE bench_units;
CREATE TEMP TABLE bench_orders AS
    SELECT gen_random_uuid() AS id, row_number() OVER () AS n, c.id AS campaign_id, c.sponsor_id, u.podcast_id,
           u.id AS ad_unit_id, o.past, current_date + o.first AS flight_start, current_date + o.first + 28 AS flight_end
    FROM campaigns c,
         LATERAL (SELECT random() < 0.7 AS past, 1 + floor(random() * {units})::int AS unit,
                         floor(random() * 100)::int AS first
                  FROM generate_series(1, 1 + floor(random() * 3)::int + 0 * c.value_cents::int) k) r,
         LATERAL (SELECT r.past, r.unit, CASE WHEN r.past THEN r.first - 150 ELSE r.first * 7 / 10 - 10 END AS first) o
    JOIN bench_units u ON u.n = o.unit
    WHERE c.tenant_id = {tenant};
ANALYZE bench_orders;
INSERT INTO insertion_orders (tenant_id, id, number, campaign_id, sponsor_id, podcast_id, ad_unit_id, flight_start,
                              flight_end, impression_goal, pricing_model, cpm_cents, exclusivity, status,
                              delivered_impressions)
SELECT {tenant}, o.id, 'IO-' || to_char(o.n, 'FM000000'), o.campaign_id, o.sponsor_id, o.podcast_id, o.ad_unit_id,
       o.flight_start, o.flight_end, 100000, 'cpm', 2500, NOT o.past AND random() < 0.4,
       CASE WHEN o.past THEN 'completed' WHEN o.flight_start <= current_date THEN 'active' ELSE 'scheduled' END,
       CASE WHEN o.past THEN 5000 + floor(random() * 295000)::int ELSE 0 END
FROM bench_orders o;
INSERT INTO io_placements (tenant_id, id, io_id, ad_unit_id, episode_id, industry)
SELECT DISTINCT ON (o.ad_unit_id, e.id) {tenant}, gen_random_uuid(), o.id, o.ad_unit_id, e.id, s.industry
FROM bench_orders o
JOIN bench_episodes e ON e.podcast_id = o.podcast_id AND e.number = 0
JOIN bench_sponsors s ON s.id = o.sponsor_id
WHERE NOT o.past AND o.flight_start > current_date AND e.day BETWEEN o.flight_start AND o.flight_end;
"""
ATTRIBUTION = """
INSERT INTO conversion_sources (tenant_id, id, sponsor_id, kind, name, token)
SELECT {tenant}, gen_random_uuid(), s.id, 'api', 'Orders', 'bench-' || s.n
FROM bench_sponsors s WHERE s.n <= {buyers};
INSERT INTO attribution_models (tenant_id, id, campaign_id, model, is_default)
SELECT DISTINCT ON (io.campaign_id) {tenant}, gen_random_uuid(), io.campaign_id, 'linear', true
FROM insertion_orders io WHERE io.tenant_id = {tenant} AND io.status = 'completed';
INSERT INTO attribution_runs (tenant_id, id, campaign_id, status, trigger, started_at, finished_at)
SELECT {tenant}, gen_random_uuid(), m.campaign_id, 'completed', 'bench', now() - interval '1 day', now()
FROM attribution_models m WHERE m.tenant_id = {tenant};
CREATE TEMP TABLE bench_conversions AS
    SELECT gen_random_uuid() AS id, io.id AS io_id, io.campaign_id, io.sponsor_id, r.id AS run_id,
           io.flight_start + random() * interval '28 days' AS occurred_at
    FROM insertion_orders io JOIN attribution_runs r ON r.tenant_id = io.tenant_id AND r.campaign_id = io.campaign_id,
         LATERAL generate_series(1, floor(io.delivered_impressions * (0.0002 + random() * 0.0008))::int) g
    WHERE io.tenant_id = {tenant} AND io.status = 'completed';
ANALYZE bench_conversions;
INSERT INTO conversions (tenant_id, id, source_id, sponsor_id, occurred_at, value_cents, currency)
SELECT {tenant}, c.id, src.id, c.sponsor_id, c.occurred_at, 1000 + floor(random() * 9000)::int, 'USD'
FROM bench_conversions c JOIN conversion_sources src ON src.tenant_id = {tenant} AND src.sponsor_id = c.sponsor_id;
INSERT INTO attribution_credits (tenant_id, id, run_id, campaign_id, conversion_id, io_id, model, match_type, credit)
SELECT {tenant}, gen_random_uuid(), c.run_id, c.campaign_id, c.id, c.io_id, 'linear', 'promo_code',
       round((0.1 + random() * 0.9)::numeric, 3)
FROM bench_conversions c;
"""
COUNTED = (
    "sponsors",
    "match_briefs",
    "podcasts",
    "episodes",
    "episode_transcripts",
    "ad_units",
    "downloads",
    "insertion_orders",
    "io_placements",
    "conversions",
    "attribution_credits",
)
STEPS = (
    ("shows", SHOWS),
    ("episodes", EPISODES),
    ("downloads", DOWNLOADS),
    ("sponsors", SPONSORS),
    ("orders", ORDERS),
    ("attribution", ATTRIBUTION),
)


def _count(conn: psycopg.Connection[Any], table: str, tenant_id: uuid.UUID) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (tenant_id,)).fetchone()[0])


@contextmanager
def _without_indexes(conn: psycopg.Connection[Any], table: str) -> Iterator[None]:
    """The table's indexes and primary key dropped while rows go in, and built again after (quicker than keeping
    them up to date row by row); unlogged, as nothing here needs to survive a crash."""
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE 'pk_%%'", (table,)
    ).fetchall()
    for index, _ in indexes:
        conn.execute(f"DROP INDEX {index}")
    conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
    conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
    yield
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (tenant_id, id)")
    for _, definition in indexes:
        conn.execute(definition)


def _literal(value: Any) -> str:
    from psycopg import sql

    return sql.Literal(value).as_string(None)


def generate(superuser: str, tenant_id: uuid.UUID, advertisers: int, shows: int, episodes: int) -> dict[str, int]:
    """Fill the workspace, as the server's superuser in one session (its temporary tables go with it)."""
    values = {
        "seed": SEED,
        "tenant": _literal(str(tenant_id)) + "::uuid",
        "run": _literal(str(uuid.uuid4())) + "::uuid",
        "categories": _literal(
            json.dumps([{"name": n, "words": w, "sensitive": SENSITIVE.get(n)} for n, w in CATEGORIES.items()])
        ),
        "industries": _literal(json.dumps([{"name": n, "words": w} for n, w in INDUSTRIES.items()])),
        "countries": f"({_literal(list(COUNTRIES))}::text[])",
        "ncountries": len(COUNTRIES),
        "age_bands": f"({_literal(list(AGE_BANDS))}::text[])",
        "generic": _literal(GENERIC),
        "nc": len(CATEGORIES),
        "ni": len(INDUSTRIES),
        "shows": shows,
        "episodes": episodes,
        "advertisers": advertisers,
        "buyers": advertisers * 35 // 100,
    }
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(SETUP.format(**values))
        for name, statement in STEPS:
            started = time.perf_counter()
            if name == "orders":
                values["units"] = _count(conn, "ad_units", tenant_id)
            if name == "downloads":
                with _without_indexes(conn, "downloads"):
                    conn.execute(statement.format(**values))
            else:
                conn.execute(statement.format(**values))
            print(f"  ({name} {time.perf_counter() - started:.1f} s)", flush=True)
        started = time.perf_counter()
        conn.execute("SET session_replication_role = DEFAULT")
        conn.execute("VACUUM ANALYZE")
        print(f"  (vacuum analyze {time.perf_counter() - started:.1f} s)", flush=True)
        counts = {table: _count(conn, table, tenant_id) for table in COUNTED}
        counts["shows_located"] = conn.execute(
            "SELECT count(*) FROM (SELECT podcast_id FROM downloads WHERE tenant_id = %s AND country IS NOT NULL "
            "GROUP BY podcast_id HAVING count(*) >= %s) s",
            (tenant_id, MIN_LOCATED_DOWNLOADS),
        ).fetchone()[0]
    return counts


def _peak_mb() -> float:
    """The process's resident-set high-water mark (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def make_tenant() -> uuid.UUID:
    from podsponsor.auth.schemas import SignupIn
    from podsponsor.auth.service import signup
    from podsponsor.db.tenancy import tenant_transaction

    tenant_id = uuid.uuid4()
    async with tenant_transaction(tenant_id) as session:
        data = SignupIn(workspace_name="Bench", workspace_slug="bench", email="bench@example.com", password="x" * 16)
        await signup(session, tenant_id, data)
    return tenant_id


async def child_job(tenant_id: uuid.UUID) -> dict[str, Any]:
    """The whole-workspace recalculation as the worker runs it, timed phase by phase around the service calls that
    `tasks.run_tenant` makes."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from podsponsor.auth.subject import system_subject
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.matching import engine, repository, service, tasks

    async with tenant_transaction(tenant_id) as session:
        run = await service.recalculate(session, system_subject(tenant_id))
    phases: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    def timed_in_thread(name: str, call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    service.prepare_tenant_run = timed("gather", service.prepare_tenant_run)  # type: ignore[method-assign]
    service.score_in_thread = timed("score", service.score_in_thread)  # type: ignore[method-assign]
    service.complete_tenant_run = timed("store", service.complete_tenant_run)  # type: ignore[method-assign]
    # Inside those: the first pass (every pair scored, the kept ones chosen), and the upsert of the kept matches.
    engine._select = timed_in_thread("select", engine._select)
    repository.store_matches = timed("upsert", repository.store_matches)
    repository.drop_unkept = timed("drop_unkept", repository.drop_unkept)
    # The upsert's INSERT ... SELECT from the COPYed batch, apart from the COPY itself.
    execute = AsyncSession.execute

    async def timed_execute(self: AsyncSession, statement: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await execute(self, statement, *args, **kwargs)
        finally:
            if "INSERT INTO matches" in str(statement):
                phases["insert_select"] = phases.get("insert_select", 0.0) + time.perf_counter() - started

    AsyncSession.execute = timed_execute  # type: ignore[method-assign]
    gc.collect()
    _reset_peak()
    before = _rss_mb()
    started = time.perf_counter()
    await tasks.run_tenant(tenant_id, run.id)
    seconds = time.perf_counter() - started
    async with tenant_transaction(tenant_id) as session:
        done = await service.get_run(session, system_subject(tenant_id), run.id)
    assert done.status == "completed", done.error
    return {
        "seconds": seconds,
        **{f"{name}_s": value for name, value in phases.items()},
        "pairs_scored": done.pairs_scored,
        "pairs_stored": done.pairs_stored,
        "start_mb": before,
        "peak_mb": _peak_mb(),
    }


def _reset_peak() -> None:
    """Start the resident-set high-water mark again from the current size (Linux: /proc/self/clear_refs), so that
    several measurements in one process each read their own peak."""
    Path("/proc/self/clear_refs").write_text("5")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def child_scoring(tenant_id: uuid.UUID, small: int, traced: bool) -> dict[str, Any]:
    """Scoring every pair, as the job's first pass does it (the static tables, then every block's six signals,
    conflicts and scores, and the choice of the kept pairs), chunked and unchunked, on all advertisers and on the
    first `small`; the inputs are gathered once. The second pass, explaining the kept pairs, does the same work per
    kept pair either way and is timed in the job."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.matching import engine, gather
    from podsponsor.matching.settings import match_settings
    from podsponsor.matching.signals import Block

    async with tenant_transaction(tenant_id) as session:
        inputs = await gather.gather(session, tenant_id, datetime.now(UTC).date())
        settings = await match_settings(session, tenant_id)
    chunk = engine.BLOCK_ADVERTISERS
    found: dict[str, Any] = {}

    def first_pass(count: int, block_size: int) -> int:
        subset = replace(inputs, advertisers=inputs.advertisers[:count])
        engine.BLOCK_ADVERTISERS = block_size  # type: ignore[misc]
        block = Block(subset, settings, engine.topic_model(subset))
        # The job's first pass (engine.score_all runs it when not every pair is kept).
        return int(engine._select(block, settings.keep_per_entity, None).sum())

    for label, count, block_size in (
        ("chunked_small", small, chunk),
        ("chunked", len(inputs.advertisers), chunk),
        ("unchunked", len(inputs.advertisers), len(inputs.advertisers)),
    ):
        gc.collect()
        _reset_peak()
        before = _rss_mb()
        started = time.perf_counter()
        kept = first_pass(count, block_size)
        seconds = time.perf_counter() - started
        measured = {"advertisers": count, "block": block_size, "seconds": seconds, "kept": kept}
        measured |= {"start_mb": before, "peak_mb": _peak_mb()}
        if traced:
            gc.collect()
            tracemalloc.start()
            first_pass(count, block_size)
            measured["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        found[label] = measured
    engine.BLOCK_ADVERTISERS = chunk  # type: ignore[misc]
    return {"shows": len(inputs.shows), **found}


def child(args: argparse.Namespace) -> dict[str, Any]:
    from podsponsor.config import get_settings
    from podsponsor.db import engine

    async def run() -> dict[str, Any]:
        engine.configure(get_settings())
        try:
            tenant_id = uuid.UUID(args.tenant)
            # Scoring first, in the smaller footprint; the job's peak is then read from its own start.
            scoring = await child_scoring(tenant_id, args.small, not args.no_trace)
            return {"scoring": scoring, "job": await child_job(tenant_id)}
        finally:
            await engine.dispose()

    return asyncio.run(run())


def spawn(tenant_id: uuid.UUID, small: int, traced: bool) -> dict[str, Any]:
    """The measurements, in a process of their own: its memory is theirs alone, not the generator's."""
    command = [sys.executable, __file__, "--child", "--tenant", str(tenant_id), "--small", str(small)]
    if not traced:
        command.append("--no-trace")
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the measurements failed:\n{done.stderr[-4000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def run(advertisers: int, shows: int, episodes: int, small: int, traced: bool) -> dict[str, Any]:
    started_all = time.perf_counter()
    admin, urls = bench_database(DATABASE)
    from podsponsor.config import get_settings
    from podsponsor.db import bootstrap, engine

    try:
        engine.configure(get_settings(), urls)

        async def tenant() -> uuid.UUID:
            try:
                return await make_tenant()
            finally:
                await engine.dispose()

        tenant_id = asyncio.run(tenant())
        started = time.perf_counter()
        superuser = libpq_conninfo(make_url(admin).set(database=DATABASE).render_as_string(hide_password=False))
        counts = generate(superuser, tenant_id, advertisers, shows, episodes)
        print(f"generated in {time.perf_counter() - started:.1f} s (not timed): {counts}", flush=True)
        measured = spawn(tenant_id, small, traced)
        job, scoring = measured["job"], measured["scoring"]
        explain = job["score_s"] - job["select_s"]
        rest = job["store_s"] - job["upsert_s"] - job["drop_unkept_s"]
        copy = job["upsert_s"] - job["insert_select_s"]
        print(
            f"  job (tasks.run_tenant), {advertisers:,} x {shows:,} = {job['pairs_scored']:,} pairs: "
            f"{job['seconds']:.1f} s, {job['pairs_scored'] / job['seconds']:,.0f} pairs/s\n"
            f"    gather {job['gather_s']:.1f} s; score {job['score_s']:.1f} s = every pair scored and the kept chosen "
            f"{job['select_s']:.1f} s ({job['pairs_scored'] / job['select_s']:,.0f} pairs/s) + {job['pairs_stored']:,} "
            f"kept explained {explain:.1f} s ({1e6 * explain / job['pairs_stored']:.0f} us each); store "
            f"{job['store_s']:.1f} s = upsert {job['upsert_s']:.1f} (COPY of the batch {copy:.1f} + INSERT ... SELECT "
            f"{job['insert_select_s']:.1f}) + stale removed {job['drop_unkept_s']:.1f} + rows and event {rest:.1f}\n"
            f"    peak RSS {job['peak_mb']:,.0f} MB ({job['start_mb']:,.0f} MB when it started: "
            f"{1024 * (job['peak_mb'] - job['start_mb']) / job['pairs_stored']:.1f} KB per kept match)",
            flush=True,
        )
        for label in ("chunked_small", "chunked", "unchunked"):
            found = scoring[label]
            traced_text = f", tracemalloc peak {found['traced_peak_mb']:,.0f} MB" if traced else ""
            print(
                f"  every pair scored, {label:>13}: {found['advertisers']:,} x {scoring['shows']:,} in blocks of "
                f"{found['block']:,}: {found['seconds']:5.1f} s, peak RSS {found['peak_mb']:,.0f} MB "
                f"(+{found['peak_mb'] - found['start_mb']:,.0f} MB over the inputs){traced_text}",
                flush=True,
            )
    finally:
        bootstrap.drop_database(admin, DATABASE)
    chunked, unchunked, smaller = scoring["chunked"], scoring["unchunked"], scoring["chunked_small"]

    def growth(found: dict[str, Any]) -> float:
        return max(float(found["peak_mb"] - found["start_mb"]), 1.0)

    result = {
        "bench": "matching",
        "advertisers": advertisers,
        "shows": shows,
        "pairs": job["pairs_scored"],
        "pairs_per_s": round(job["pairs_scored"] / job["seconds"]),
        "seconds": round(job["seconds"], 2),
        "peak_mb": round(job["peak_mb"]),
        "gather_s": round(job["gather_s"], 2),
        "score_s": round(job["score_s"], 2),
        "store_s": round(job["store_s"], 2),
        "select_s": round(job["select_s"], 2),
        "explain_s": round(explain, 2),
        "upsert_s": round(job["upsert_s"], 2),
        "upsert_copy_s": round(copy, 2),
        "upsert_insert_s": round(job["insert_select_s"], 2),
        "job_start_mb": round(job["start_mb"]),
        "kb_per_kept_match": round(1024 * (job["peak_mb"] - job["start_mb"]) / job["pairs_stored"], 2),
        "matches_stored": job["pairs_stored"],
        "scored_pairs_per_s": round(job["pairs_scored"] / job["select_s"]),
        "scoring_chunked_s": round(chunked["seconds"], 2),
        "scoring_unchunked_s": round(unchunked["seconds"], 2),
        "ratio_time_chunked_vs_unchunked": round(chunked["seconds"] / unchunked["seconds"], 3),
        "scoring_chunked_peak_mb": round(chunked["peak_mb"]),
        "scoring_unchunked_peak_mb": round(unchunked["peak_mb"]),
        "ratio_peak_chunked_vs_unchunked": round(chunked["peak_mb"] / unchunked["peak_mb"], 3),
        "scoring_chunked_growth_mb": round(growth(chunked)),
        "scoring_unchunked_growth_mb": round(growth(unchunked)),
        "ratio_growth_chunked_vs_unchunked": round(growth(chunked) / growth(unchunked), 3),
        f"scoring_chunked_growth_mb_at_{small}": round(growth(smaller)),
        f"ratio_growth_{advertisers}_vs_{small}": round(growth(chunked) / growth(smaller), 3),
        "bench_s": round(time.perf_counter() - started_all, 1),
    }
    if traced:
        result |= {
            "traced_chunked_mb": round(chunked["traced_peak_mb"]),
            "traced_unchunked_mb": round(unchunked["traced_peak_mb"]),
            f"traced_chunked_mb_at_{small}": round(smaller["traced_peak_mb"]),
            "ratio_traced_chunked_vs_unchunked": round(chunked["traced_peak_mb"] / unchunked["traced_peak_mb"], 3),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--advertisers", type=int, default=2000)
    parser.add_argument("--shows", type=int, default=5000)
    parser.add_argument("--episodes", type=int, default=5, help="episodes per show")
    parser.add_argument("--small", type=int, default=500, help="advertisers of the smaller scoring run")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tenant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    print(json.dumps(run(args.advertisers, args.shows, args.episodes, args.small, not args.no_trace)))


if __name__ == "__main__":
    main()
