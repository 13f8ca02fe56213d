"""Attribution: matching and crediting 1 M conversions against 10 M exposures, vs a plain SQL join of the same
tables on the match key, in the same run and on the same database.

Generated deterministically (numpy, seeded) and loaded into a bench database migrated like production (loading is
not timed): one campaign of 5 orders on 5 shows of 100 episodes (3 orders unassigned across their show, 2 booked into
40 episodes each) over a 60-day flight; 10 M counted downloads by 2.5 M households (heavy listeners download more;
1 % of addresses are offices or carrier NATs with 12-40 user agents; a fifth of the episodes counted from host logs,
the rest by the prefix); 1 M conversions over the flight and the 30 days after it: 35 % from listening households
(80 % of those on a device of the family they listen on), 55 % from households that never listened, 10 % without an
address; 5 % carry one of the orders' promo codes; 20,000 vanity visits by converting households.

Timed, each on the same tables, as the runtime role under row-level security and with the same work_mem:
- the engine, as a recalculation runs it (podsponsor.attribution.recalculate.read and .attribute): its reads (the
  sponsor's conversions; each conversion paired with its household's downloads and vanity visits in its lookback, a
  join on the address hash in PostgreSQL, then the orders' counting days and the logs-over-prefix rule of delivery;
  COPY into polars), matching (promo code, vanity, household by address and device family, shared households
  excluded) and the linear and time-decay credits;
- the SQL join of conversions and downloads on the address hash with the 30-day lookback condition, with none of the
  matching rules: counted in the server (`ratio_vs_sql_join`), and with its rows (conversion, episode, time) copied to
  the client as the engine's reads are (`ratio_vs_sql_join_rows`). A ratio above 1: the engine is faster.
Loading drops and rebuilds the downloads' indexes and primary key and turns off triggers while COPY runs (a bench
database of its own; the foreign keys hold by construction). Default size: under 3 minutes on 2 cores.
Usage: python bench/attribution.py [--exposures 10000000] [--conversions 1000000] [--runs 1]
Last line: {"bench": "attribution", "conversions_per_s", "ratio_vs_sql_join", "ratio_vs_sql_join_rows", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import polars as pl
import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench._db import bench_database
from podsponsor.db.urls import libpq_conninfo

DATABASE = "podsponsor_bench_attribution"
SHOWS, EPISODES_PER_SHOW = 5, 100
FLIGHT_START = date(2025, 9, 1)
FLIGHT_DAYS = 60
LOOKBACK_DAYS = 30
COPY_CHUNK = 1_000_000
DEVICES = [
    ("Apple iPhone", "mobile", "iOS"),
    ("Android Phone", "mobile", "Android"),
    ("Apple Computer", "computer", "macOS"),
    ("Windows Computer", "computer", "Windows"),
    ("Apple iPad", "mobile", "iPadOS"),
    ("Apple Watch", "watch", "other"),
    (None, None, None),
]
DEVICE_SHARE = [0.45, 0.3, 0.08, 0.07, 0.05, 0.02, 0.03]
FAMILIES = ["iOS", "Android", "macOS", "Windows", "iPadOS", "other"]
# The engine's reads and the join get the same memory for their hash tables.
WORK_MEM = "SET LOCAL work_mem = '64MB'"
JOIN = """
FROM conversions c JOIN downloads d
  ON split_part(d.listener, ':', 1) = c.ip_hash
 AND d.window_start >= c.occurred_at - make_interval(days => {lookback}) AND d.window_start < c.occurred_at
WHERE c.tenant_id = {tenant} AND d.tenant_id = {tenant} AND c.sponsor_id = {sponsor}
"""


@dataclass
class World:
    tenant_id: uuid.UUID
    sponsor_id: uuid.UUID
    campaign_id: uuid.UUID
    source_id: uuid.UUID
    ios: list[tuple[uuid.UUID, str]]  # (io id, promo code)
    shows: list[tuple[uuid.UUID, list[uuid.UUID]]]


def _hashes(numbers: np.ndarray, salt: int) -> pl.Series:
    """A stable 60-character hash per number: the shape of a keyed address hash."""
    frame = pl.DataFrame({"n": numbers.astype(np.uint64)})
    parts = [pl.col("n").hash(salt + k).cast(pl.Utf8).str.zfill(20) for k in range(3)]
    return frame.select(pl.concat_str(parts).alias("h"))["h"]


def _ids(rng: np.random.Generator, size: int) -> pl.Series:
    """Random 128-bit ids as 32 hex digits (PostgreSQL's uuid input): made here, because gen_random_uuid() as a
    column default costs the load more than the rest of the row."""
    raw = np.frombuffer(rng.bytes(16 * size), dtype=np.uint8).reshape(size, 16)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.empty((size, 32), dtype=np.uint8)
    text[:, 0::2], text[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    return pl.Series("id", text.view("S32").ravel()).cast(pl.Utf8)


def _device_of(household: np.ndarray) -> np.ndarray:
    """Each household's usual device, by the shares of DEVICE_SHARE."""
    spread = (household.astype(np.uint64) * np.uint64(2_654_435_761)) % np.uint64(10_000) / 10_000
    return np.minimum(np.searchsorted(np.cumsum(DEVICE_SHARE), spread, side="right"), len(DEVICES) - 1)


def _heavy(rng: np.random.Generator, size: int, households: int) -> np.ndarray:
    """Household numbers drawn with a long tail: a few listen (and buy) a lot."""
    return (rng.pareto(1.2, size) * households / 20).astype(np.int64) % households


def generate_downloads(world: World, exposures: int, rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray, int]:
    households = max(exposures // 4, 10)
    household = _heavy(rng, exposures, households)
    offices = household % 100 == 0
    agent = np.where(
        offices, rng.integers(0, 40, exposures), np.where(household % 3 == 0, rng.integers(0, 2, exposures), 0)
    )
    device = np.where(offices, rng.integers(0, len(DEVICES), exposures), _device_of(household))
    episode = (rng.pareto(1.5, exposures) * 20).astype(np.int64) % (SHOWS * EPISODES_PER_SHOW)
    episode_ids = pl.Series([str(e) for _, episodes in world.shows for e in episodes])
    podcast_ids = pl.Series([str(p) for p, episodes in world.shows for _ in episodes])
    start = datetime.combine(FLIGHT_START, datetime.min.time(), tzinfo=UTC)
    seconds = pl.Series(rng.integers(0, FLIGHT_DAYS * 86_400, exposures) * 1_000_000, dtype=pl.Duration("us"))
    address = _hashes(household, 1)
    digest = pl.Series(agent).cast(pl.Utf8).str.zfill(16)
    frame = pl.DataFrame(
        {
            "window_start": pl.select(pl.lit(start).dt.cast_time_unit("us") + seconds).to_series(),
            "podcast_id": podcast_ids.gather(episode),
            "episode_id": episode_ids.gather(episode),
            "source_kind": np.where(episode % 5 == 0, "logs", "prefix"),
            "listener": (address + ":" + digest),
            "device": pl.Series([d[0] for d in DEVICES]).gather(device),
            "device_category": pl.Series([d[1] for d in DEVICES]).gather(device),
        }
    )
    frame = frame.with_columns(pl.col("window_start").dt.date().alias("day"), _ids(rng, exposures))
    return frame, np.unique(household), households


def generate_conversions(
    world: World, conversions: int, listening: np.ndarray, households: int, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    kind = rng.random(conversions)
    # Buying does not follow how much a household listens: converting listeners are drawn evenly among them.
    listener = rng.choice(listening, conversions)
    stranger = households + rng.integers(0, households * 4, conversions)
    address = np.where(kind < 0.35, listener, stranger)
    families = pl.Series([d[2] for d in DEVICES], dtype=pl.Utf8)
    same = families.gather(_device_of(address))
    other = pl.Series(FAMILIES).gather(rng.integers(0, len(FAMILIES), conversions))
    family = pl.select(pl.when(pl.Series(rng.random(conversions) < 0.8)).then(same).otherwise(other)).to_series()
    start = datetime.combine(FLIGHT_START, datetime.min.time(), tzinfo=UTC)
    seconds = rng.integers(0, (FLIGHT_DAYS + LOOKBACK_DAYS) * 86_400, conversions) * 1_000_000
    codes = pl.Series(["{" + code + "}" for _, code in world.ios])
    typed = codes.gather(rng.integers(0, len(world.ios), conversions))
    promo = pl.Series(rng.random(conversions) < 0.05)
    frame = pl.DataFrame(
        {
            "occurred_at": pl.select(
                pl.lit(start).dt.cast_time_unit("us") + pl.Series(seconds, dtype=pl.Duration("us"))
            ).to_series(),
            "value_cents": rng.integers(1_000, 20_000, conversions),
            "currency": pl.Series(["USD"]).gather(np.zeros(conversions, dtype=np.int64)),
            "promo_codes": pl.select(pl.when(promo).then(typed).otherwise(pl.lit("{}"))).to_series(),
            "ip_hash": pl.select(pl.when(pl.Series(kind < 0.9)).then(_hashes(address, 1))).to_series(),
            "ua_family": family,
        }
    )
    frame = frame.with_columns(_ids(rng, conversions))
    visitors = frame.filter(pl.col("ip_hash").is_not_null()).sample(min(20_000, conversions // 50), seed=3)
    ios = pl.Series([str(io_id) for io_id, _ in world.ios])
    before = pl.Series(rng.integers(1, 24 * 20, visitors.height) * 3_600_000_000, dtype=pl.Duration("us"))
    clicks = visitors.select(
        _ids(rng, visitors.height),
        ios.gather(rng.integers(0, len(world.ios), visitors.height)).alias("io_id"),
        (pl.col("occurred_at") - before).alias("ts"),
        pl.col("ip_hash"),
    )
    return frame, clicks


async def make_world() -> World:
    from podsponsor.attribution.models import ConversionSource
    from podsponsor.auth.schemas import SignupIn
    from podsponsor.auth.service import signup
    from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement
    from podsponsor.catalog.models import Episode, Podcast
    from podsponsor.db.tenancy import tenant_transaction
    from podsponsor.sales.models import Campaign, Sponsor

    tenant_id = uuid.uuid4()
    async with tenant_transaction(tenant_id) as session:
        data = SignupIn(workspace_name="Bench", workspace_slug="bench", email="bench@example.com", password="x" * 16)
        await signup(session, tenant_id, data)
    async with tenant_transaction(tenant_id) as session:
        sponsor = Sponsor(tenant_id=tenant_id, name="Sleepwell", industry="Sleep", attribution_lookback_days=30)
        session.add(sponsor)
        await session.flush()
        campaign = Campaign(tenant_id=tenant_id, sponsor_id=sponsor.id, name="Autumn")
        source = ConversionSource(tenant_id=tenant_id, sponsor_id=sponsor.id, kind="api", name="Orders", token="b")
        session.add_all([campaign, source])
        await session.flush()
        shows, ios = [], []
        for number in range(SHOWS):
            podcast = Podcast(tenant_id=tenant_id, title=f"Show {number}")
            session.add(podcast)
            await session.flush()
            release = datetime.combine(FLIGHT_START - timedelta(days=200), datetime.min.time(), tzinfo=UTC)
            episodes = [
                Episode(
                    tenant_id=tenant_id,
                    podcast_id=podcast.id,
                    guid=f"{number}-{e}",
                    title=f"Episode {e}",
                    publish_date=release + timedelta(days=2 * e),
                )
                for e in range(EPISODES_PER_SHOW)
            ]
            unit = AdUnit(
                tenant_id=tenant_id,
                podcast_id=podcast.id,
                name="Mid",
                position="mid",
                length_seconds=60,
                read_type="host_read",
                insertion="dynamic",
                rate_cpm_cents=2500,
            )
            session.add_all([*episodes, unit])
            await session.flush()
            order = InsertionOrder(
                tenant_id=tenant_id,
                number=f"IO-{number}",
                campaign_id=campaign.id,
                sponsor_id=sponsor.id,
                podcast_id=podcast.id,
                ad_unit_id=unit.id,
                flight_start=FLIGHT_START,
                flight_end=FLIGHT_START + timedelta(days=FLIGHT_DAYS - 1),
                impression_goal=1_000_000,
                pricing_model="cpm",
                cpm_cents=2500,
                promo_code=f"SLEEP{number}",
                status="completed",
            )
            session.add(order)
            await session.flush()
            if number >= 3:  # booked into 40 episodes; the others run across the whole show
                session.add_all(
                    IoPlacement(
                        tenant_id=tenant_id, io_id=order.id, ad_unit_id=unit.id, episode_id=e.id, industry="Sleep"
                    )
                    for e in episodes[:40]
                )
            shows.append((podcast.id, [e.id for e in episodes]))
            ios.append((order.id, f"SLEEP{number}"))
        return World(tenant_id, sponsor.id, campaign.id, source.id, ios, shows)


def _copy(conn: psycopg.Connection[Any], table: str, frame: pl.DataFrame) -> None:
    columns = ", ".join(frame.columns)
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for offset in range(0, frame.height, COPY_CHUNK):
            buffer = io.BytesIO()
            frame.slice(offset, COPY_CHUNK).write_csv(buffer, include_header=False, null_value="")
            copy.write(buffer.getvalue())


def load(
    superuser: str, world: World, downloads: pl.DataFrame, conversions: pl.DataFrame, clicks: pl.DataFrame
) -> None:
    """As the server's superuser (COPY is refused under row-level security), the quickest way in: downloads
    unlogged, constant columns as defaults, no triggers (the foreign keys hold by construction), the downloads'
    indexes and primary key built after the rows are in."""
    tenant = str(world.tenant_id)
    with psycopg.connect(superuser, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'downloads' AND indexname LIKE 'ix_%'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("ALTER TABLE downloads DROP CONSTRAINT pk_downloads")
        conn.execute("ALTER TABLE downloads SET UNLOGGED")
        defaults = {
            "downloads": {
                "tenant_id": f"'{tenant}'",
                "window_type": "'calendar_day'",
                "requests": "1",
                "first_request_id": "'bench'",
                "run_id": f"'{uuid.uuid4()}'",
            },
            "conversions": {
                "tenant_id": f"'{tenant}'",
                "source_id": f"'{world.source_id}'",
                "sponsor_id": f"'{world.sponsor_id}'",
            },
            "vanity_clicks": {"tenant_id": f"'{tenant}'", "ua_hash": "'ua'"},
        }
        for table, columns in defaults.items():
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            for column, value in columns.items():
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {value}")
        started = time.perf_counter()
        _copy(conn, "downloads", downloads.select("day", *[c for c in downloads.columns if c != "day"]))
        _copy(conn, "conversions", conversions)
        _copy(conn, "vanity_clicks", clicks)
        print(f"  (COPY {time.perf_counter() - started:.1f} s)")
        for table, columns in defaults.items():
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
            for column in columns:
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("ALTER TABLE downloads ADD CONSTRAINT pk_downloads PRIMARY KEY (tenant_id, id)")
        for _, definition in indexes:
            conn.execute(definition)
        print(f"  (indexes {time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE downloads, conversions, vanity_clicks")
        print(f"  (vacuum analyze {time.perf_counter() - started:.1f} s)")


async def time_engine(world: World, runs: int) -> tuple[float, dict[str, float], dict[str, Any]]:
    from podsponsor.attribution import recalculate
    from podsponsor.attribution.credit import ModelSpec
    from podsponsor.attribution.engine import MatchSettings
    from podsponsor.auth.subject import system_subject
    from podsponsor.bookings import delivery
    from podsponsor.db.tenancy import tenant_transaction

    settings = MatchSettings(LOOKBACK_DAYS)
    specs = {"linear": ModelSpec.of("linear"), "time_decay": ModelSpec.of("time_decay")}
    totals: list[float] = []
    parts: dict[str, list[float]] = {"read": [], "match_and_credit": []}
    found: dict[str, Any] = {}
    for _ in range(runs):
        gc.collect()
        async with tenant_transaction(world.tenant_id) as session:
            started = time.perf_counter()
            await session.execute(text(WORK_MEM))
            subject = system_subject(world.tenant_id)
            scopes = await delivery.campaign_scopes(session, subject, world.campaign_id, today=date.today())
            window = recalculate.Window.of(scopes, LOOKBACK_DAYS)
            assert window is not None
            inputs = await recalculate.read(session, world.tenant_id, scopes, world.sponsor_id, window, settings)
            read = time.perf_counter()
            attribution = recalculate.attribute(inputs, settings, specs)
            done = time.perf_counter()
        totals.append(done - started)
        parts["read"].append(read - started)
        parts["match_and_credit"].append(done - read)
        stats = attribution.matching.stats
        found = {
            "conversions": stats.conversions,
            "exposures_in_lookback": stats.exposures,
            "matched": stats.matched,
            "unusable_ip_share": round(stats.unusable_ip_share or 0, 4),
            "credit_rows": attribution.credits.height,
        }
    return statistics.median(totals), {k: statistics.median(v) for k, v in parts.items()}, found


async def time_join(world: World, runs: int) -> tuple[float, float, int]:
    """(count only, rows to the client, pairs): the join counted in the server, and the join's rows (conversion,
    episode, time) copied to the client as the engine's reads are."""
    from podsponsor.db.tenancy import tenant_transaction

    join = sql.SQL(JOIN).format(
        tenant=sql.Literal(str(world.tenant_id)),
        sponsor=sql.Literal(str(world.sponsor_id)),
        lookback=sql.Literal(LOOKBACK_DAYS),
    )
    counted, copied, pairs = [], [], 0
    for _ in range(runs):
        async with tenant_transaction(world.tenant_id) as session:
            await session.execute(text(WORK_MEM))
            driver: Any = (await (await session.connection()).get_raw_connection()).driver_connection
            async with driver.cursor() as cursor:
                started = time.perf_counter()
                await cursor.execute(sql.SQL("SELECT count(*) {}").format(join))
                pairs = int((await cursor.fetchone())[0])
                counted.append(time.perf_counter() - started)
            rows = sql.SQL("COPY (SELECT c.id, d.episode_id, d.window_start {}) TO STDOUT (FORMAT csv)").format(join)
            started = time.perf_counter()
            buffer = io.BytesIO()
            async with driver.cursor() as cursor, cursor.copy(rows) as copy:
                async for block in copy:
                    buffer.write(block)
            pl.read_csv(buffer.getvalue(), has_header=False)
            copied.append(time.perf_counter() - started)
    return statistics.median(counted), statistics.median(copied), pairs


async def run(exposures: int, conversions: int, runs: int) -> dict[str, Any]:
    admin, urls = bench_database(DATABASE)
    from podsponsor.config import get_settings
    from podsponsor.db import bootstrap, engine

    engine.configure(get_settings(), urls)
    try:
        started = time.perf_counter()
        world = await make_world()
        rng = np.random.default_rng(20_261_122)
        downloads, listening, households = generate_downloads(world, exposures, rng)
        sales, clicks = generate_conversions(world, conversions, listening, households, rng)
        print(
            f"generated {downloads.height:,} exposures and {sales.height:,} conversions in "
            f"{time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        superuser = libpq_conninfo(make_url(admin).set(database=DATABASE).render_as_string(hide_password=False))
        load(superuser, world, downloads, sales, clicks)
        del downloads, sales, clicks
        print(f"  (loaded into PostgreSQL in {time.perf_counter() - started:.1f} s, not timed)")
        engine_s, parts, found = await time_engine(world, runs)
        print(
            f"  engine (read {parts['read']:.2f} s + match and credit {parts['match_and_credit']:.2f} s): "
            f"{engine_s:7.2f} s  {conversions / engine_s:10,.0f} conversions/s"
        )
        print(
            f"  matched {found['matched']}, unusable IP share {found['unusable_ip_share']}, "
            f"{found['exposures_in_lookback']:,} exposures in lookbacks, {found['credit_rows']:,} credit rows"
        )
        join_s, rows_s, pairs = await time_join(world, runs)
        print(f"  SQL join on the address hash, counted: {join_s:7.2f} s  ({pairs:,} conversion-download pairs)")
        print(f"  the same join's rows copied to the client: {rows_s:7.2f} s")
    finally:
        await engine.dispose()
        bootstrap.drop_database(admin, DATABASE)
    return {
        "bench": "attribution",
        "exposures": exposures,
        "conversions": conversions,
        "conversions_per_s": round(conversions / engine_s),
        "ratio_vs_sql_join": round(join_s / engine_s, 3),
        "ratio_vs_sql_join_rows": round(rows_s / engine_s, 3),
        "engine_s": round(engine_s, 3),
        "engine_read_s": round(parts["read"], 3),
        "engine_match_and_credit_s": round(parts["match_and_credit"], 3),
        "sql_join_s": round(join_s, 3),
        "sql_join_rows_s": round(rows_s, 3),
        "matched": found["matched"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exposures", type=int, default=10_000_000)
    parser.add_argument("--conversions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1, help="runs of the engine and of the join (median)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.exposures, args.conversions, args.runs))))


if __name__ == "__main__":
    main()
