"""IAB download counting of generated hits vs a PostgreSQL GROUP BY dedupe of the same rows, in the same run.

Generates N hits deterministically (polars only, no randomness outside a seeded hash): a week of listening sessions
of 1-4 requests each by ~N/5 listeners behind ~N/6 addresses (so some addresses hold several listeners), over 5,000
episodes with a long tail; 70 % prefix hits (half without a Range header, a fifth `bytes=0-1` first checks, the rest
open ranges) and 30 % CDN log rows (range start/end and bytes sent, some 304s and 404s); 3 % HEAD; bots, Apple Watch
and missing user agents from the real OPAWG lists' examples; 1 % of addresses in data centres.

Timed, each on the same rows:
- the engine, `podsponsor.measurement.counting.count` with calendar-day windows and the classifier built from the
  shared OPAWG lists (every filter, the byte threshold, tags for every row, downloads with dimensions);
- PostgreSQL: the rows are COPYed into a table of a bench database (not timed), then only the GROUP BY query that
  dedupes (episode, address, user agent, source, UTC day) of GET non-304 rows and counts per episode and day;
- DuckDB, in memory: the same query over the same polars frame.
Usage: python bench/counting.py [--hits 10000000] [--runs 3]   (embedded PostgreSQL, or DATABASE_URL)
Last line: {"bench": "counting", "hits_per_s", "ratio_vs_pg_groupby", "ratio_vs_duckdb", ...}.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import polars as pl
import psycopg
from tests.measurement.reference_data import shared_classifier

from bench._db import bench_database
from podsponsor.db import bootstrap
from podsponsor.db.urls import libpq_conninfo
from podsponsor.measurement.counting import CountingSettings, count

DATABASE = "podsponsor_bench_counting"
EPISODES = 5000
DAYS = 7
START_US = 1_736_121_600_000_000  # 2025-01-06 00:00 UTC
DAY_US = 86_400_000_000
COPY_CHUNK = 500_000
PHONE_APPS = (
    "AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4_1 like Mac OS X; en_us)",
    "AppleCoreMedia/1.0.0.22B91 (iPhone; U; CPU OS 18_1_1 like Mac OS X; en_gb)",
    "Podcasts/1.0 (iPhone; iOS 17.4)",
    "Spotify/8.9.12 iOS/17.4 (iPhone14,5)",
    "Spotify/8.9.40 Android/34 (SM-S918B)",
    "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)",
    "PocketCasts/1.0 (Pocket Casts iOS 7.60; +https://pocketcasts.com/)",
    "Pocket Casts/7.60.2 (Android 14)",
    "CastBox/9.20.1 (fm.castbox.audiobook.radio.podcast; build:12; Android 13)",
    "Castro 2024.4/1234 CFNetwork/1494.0.7 Darwin/23.4.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "AntennaPod/3.4.0",
    "Podcast Addict - Dalvik/2.1.0 (Linux; U; Android 14; SM-A546B Build/UP1A.231005.007)",
    "iTunes/12.13 (Windows; Microsoft Windows 10 x64) AppleWebKit/7618.1015.1000.1",
)
OTHER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
    "Mozilla/5.0 (compatible; SomeCrawler/1.0)",
    "atc/1.0 watchOS/10.4 model/Watch6,2 hwp/t8301 build/21T216 (6; dt:265) AMS/1",
    "(null)/(null) watchOS/8.3 model/Watch6,2",
    None,
)


def generate(hits: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(requests, episodes): the same rows on every run for the same `hits`."""
    listeners = max(hits // 5, 10)
    addresses = max(hits // 6, 10)
    addresses_hex = pl.Series("ip_hash", [hashlib.sha256(f"ip-{n}".encode()).hexdigest() for n in range(addresses)])
    # Phones dominate; bots, watches and empty user agents are a few percent of the table.
    agents = pl.Series("user_agent", list(PHONE_APPS) * 6 + list(OTHER_AGENTS), dtype=pl.Utf8)
    n = pl.int_range(pl.len(), dtype=pl.UInt64)

    def uniform(seed: int, expr: pl.Expr) -> pl.Expr:
        return (expr.hash(seed) % 1_000_000).cast(pl.Float64) / 1_000_000

    sessions = max(hits * 10 // 22, 1)
    frame = pl.DataFrame({"i": pl.int_range(hits, eager=True, dtype=pl.UInt64)}).lazy()
    frame = frame.with_columns((pl.col("i").hash(11) % sessions).alias("session"))
    frame = frame.with_columns(
        (pl.col("session").hash(12) % listeners).alias("listener"),
        (uniform(13, pl.col("session")) ** 3 * EPISODES).cast(pl.Int64).alias("episode"),
        (pl.col("session").hash(14) % (DAYS * DAY_US)).cast(pl.Int64).alias("base_us"),
        (pl.col("i").hash(15) % (3 * 3_600_000_000)).cast(pl.Int64).alias("jitter_us"),
        uniform(16, n).alias("u_method"),
        uniform(17, n).alias("u_source"),
        uniform(18, n).alias("u_range"),
        uniform(19, n).alias("u_status"),
        uniform(20, n).alias("u_sent"),
    )
    frame = frame.with_columns(
        (pl.col("listener").hash(21) % addresses).alias("address"),
        (pl.col("listener").hash(22) % len(agents)).alias("agent"),
    )
    logs = pl.col("u_source") < 0.3
    size = (30_000_000 + pl.col("episode") * 9_973 % 50_000_000).cast(pl.Int64)
    start = pl.when(pl.col("u_range") < 0.2).then(0).otherwise((pl.col("u_range") * 1_000_000).cast(pl.Int64))
    prefix_range = (
        pl.when(pl.col("u_range") < 0.2)
        .then(pl.lit("bytes=0-1"))
        .when(pl.col("u_range") < 0.5)
        .then(pl.format("bytes={}-", start))
        .otherwise(None)
    )
    status = (
        pl.when(pl.col("u_status") < 0.02)
        .then(304)
        .when(pl.col("u_status") < 0.03)
        .then(404)
        .when(pl.col("u_range") < 0.5)
        .then(206)
        .otherwise(200)
    )
    ts = (pl.lit(START_US) + pl.col("base_us") + pl.col("jitter_us")).cast(pl.Datetime("us", "UTC"))
    requests = frame.select(
        pl.format("h{}", pl.col("i")).alias("id"),
        ts.alias("ts"),
        pl.when(pl.col("u_method") < 0.03).then(pl.lit("HEAD")).otherwise(pl.lit("GET")).alias("method"),
        pl.when(logs).then(status).otherwise(302).cast(pl.Int32).alias("status"),
        pl.when(logs).then(None).otherwise(prefix_range).alias("range_header"),
        pl.when(logs & (pl.col("u_range") < 0.5)).then(start).alias("range_start"),
        pl.when(logs & (pl.col("u_range") < 0.2)).then(pl.lit(1, pl.Int64)).alias("range_end"),
        pl.when(logs).then((pl.col("u_sent") * size).cast(pl.Int64)).alias("bytes_sent"),
        pl.col("agent").alias("_agent"),
        pl.lit(None, pl.Utf8).alias("referer"),
        pl.col("address").alias("_address"),
        pl.when(pl.col("address") % 5 == 4).then(None).otherwise(pl.col("address").hash(23) % 4).alias("_country"),
        pl.when(pl.col("address") % 100 == 0).then(pl.lit("Amazon AWS")).alias("datacenter"),
        pl.format("ep-{}", pl.col("episode")).alias("episode_id"),
        pl.when(logs).then(pl.lit("logs")).otherwise(pl.lit("prefix")).alias("source_kind"),
    ).collect()
    countries = pl.Series(["US", "GB", "DE", "CA"])
    requests = requests.with_columns(
        agents.gather(requests["_agent"]).alias("user_agent"),
        addresses_hex.gather(requests["_address"]).alias("ip_hash"),
        countries.gather(requests["_country"]).alias("country"),
    ).drop("_agent", "_address", "_country")
    requests = requests.sort("ts", maintain_order=True)
    episodes = pl.DataFrame({"episode": pl.int_range(EPISODES, eager=True)}).select(
        pl.format("ep-{}", pl.col("episode")).alias("episode_id"),
        (30_000_000 + pl.col("episode") * 9_973 % 50_000_000).cast(pl.Int64).alias("enclosure_bytes"),
        (1_800 + pl.col("episode") * 37 % 3_000).cast(pl.Float64).alias("duration_seconds"),
    )
    return requests, episodes


PG_COLUMNS = (
    "id text, ts timestamptz, method text, status integer, range_header text, range_start bigint, range_end bigint, "
    "bytes_sent bigint, referer text, datacenter text, episode_id text, source_kind text, user_agent text, "
    "ip_hash text, country text"
)
DEDUPE = """
SELECT episode_id, day, count(*) AS downloads FROM (
    SELECT episode_id, ip_hash, user_agent, source_kind, (ts AT TIME ZONE 'UTC')::date AS day
    FROM {table} WHERE method = 'GET' AND status <> 304
    GROUP BY episode_id, ip_hash, user_agent, source_kind, (ts AT TIME ZONE 'UTC')::date
) AS listeners GROUP BY episode_id, day
"""


def load_postgres(conninfo: str, requests: pl.DataFrame) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_hits")
        conn.execute(f"CREATE UNLOGGED TABLE bench_hits ({PG_COLUMNS})")
        with conn.cursor().copy("COPY bench_hits FROM STDIN (FORMAT csv)") as copy:
            for offset in range(0, requests.height, COPY_CHUNK):
                buffer = io.BytesIO()
                requests.slice(offset, COPY_CHUNK).write_csv(buffer, include_header=False)
                copy.write(buffer.getvalue())
        conn.execute("VACUUM ANALYZE bench_hits")


def time_postgres(conninfo: str, runs: int) -> tuple[float, int]:
    times, rows = [], 0
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for _ in range(runs):
            started = time.perf_counter()
            rows = len(conn.execute(DEDUPE.format(table="bench_hits")).fetchall())
            times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def time_duckdb(requests: pl.DataFrame, runs: int) -> tuple[float, int]:
    """The rows are handed over through a Parquet file (not timed: DuckDB reads polars frames only through pyarrow)
    into an in-memory table."""
    times, rows = [], 0
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as conn:
        path = Path(folder) / "hits.parquet"
        requests.write_parquet(path)
        conn.execute("CREATE TABLE hits AS SELECT * FROM read_parquet(?)", [str(path)])
        for _ in range(runs):
            started = time.perf_counter()
            rows = len(conn.execute(DEDUPE.format(table="hits")).fetchall())
            times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def time_engine(requests: pl.DataFrame, episodes: pl.DataFrame, runs: int) -> tuple[float, int, dict[str, int]]:
    classifier = shared_classifier()
    settings = CountingSettings(window="calendar_day")
    times, downloads, reasons = [], 0, {}
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = count(requests, settings, classifier.classify, episodes=episodes)
        times.append(time.perf_counter() - started)
        downloads = result.downloads.height
        reasons = dict(result.tags["reason"].cast(pl.Utf8).value_counts().iter_rows())
    return statistics.median(times), downloads, reasons


def stored(requests: pl.DataFrame, folder: Path) -> pl.DataFrame:
    """The rows as they come back from storage, each column's values laid out in row order (the generator gathers
    strings from small pools, which leaves them scattered in memory as no loaded table would)."""
    path = folder / "hits.parquet"
    requests.write_parquet(path)
    return pl.read_parquet(path)


def run(hits: int, runs: int, pg_runs: int) -> dict[str, object]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        requests, episodes = generate(hits)
        requests = stored(requests, Path(folder))
    print(f"generated {hits:,} hits in {time.perf_counter() - started:.1f} s")
    engine_s, downloads, reasons = time_engine(requests, episodes, runs)
    print(f"  engine (calendar day):   {engine_s:7.2f} s  {hits / engine_s:12,.0f} hits/s  {downloads:,} downloads")
    print("  reasons: " + ", ".join(f"{name} {number:,}" for name, number in sorted(reasons.items())))
    duck_s, duck_rows = time_duckdb(requests, runs)
    print(f"  DuckDB GROUP BY dedupe:  {duck_s:7.2f} s  {hits / duck_s:12,.0f} hits/s  ({duck_rows:,} episode-days)")
    admin, urls = bench_database(DATABASE)
    try:
        conninfo = libpq_conninfo(urls.owner)
        started = time.perf_counter()
        load_postgres(conninfo, requests)
        print(f"  (COPY into PostgreSQL: {time.perf_counter() - started:.1f} s, not timed)")
        pg_s, pg_rows = time_postgres(conninfo, pg_runs)
        print(f"  PostgreSQL GROUP BY:     {pg_s:7.2f} s  {hits / pg_s:12,.0f} hits/s  ({pg_rows:,} episode-days)")
    finally:
        bootstrap.drop_database(admin, DATABASE)
    return {
        "bench": "counting",
        "hits": hits,
        "hits_per_s": round(hits / engine_s),
        "ratio_vs_pg_groupby": round(pg_s / engine_s, 3),
        "ratio_vs_duckdb": round(duck_s / engine_s, 3),
        "engine_s": round(engine_s, 3),
        "pg_groupby_s": round(pg_s, 3),
        "duckdb_s": round(duck_s, 3),
        "downloads": downloads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hits", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of the engine and of DuckDB (median)")
    parser.add_argument("--pg-runs", type=int, default=1, help="runs of the PostgreSQL query (median)")
    args = parser.parse_args()
    print(json.dumps(run(args.hits, args.runs, args.pg_runs)))


if __name__ == "__main__":
    main()
