"""CSV import throughput against two baselines measured in the same run, on the same database.

A canonical CSV of 1,000,000 rows (1,000 episodes x 1,000 days) is generated; half of its keys already exist in
metrics_daily (with other numbers) before every measured run. Three ways to load it:

  end-to-end   the import pipeline as the CLI runs it: copy + sha256 into the data folder, read and check every
               row, COPY into staging, INSERT ... ON CONFLICT, record the import (runtime role, RLS on)
  (a) upsert   COPY of the file itself into a temp staging table, then INSERT ... SELECT (podcast from a join
               with episodes) ... ON CONFLICT DO UPDATE into metrics_daily (runtime role, RLS on): the floor of
               any validating import
  (b) copy     plain COPY of the file into an empty table with metrics_daily's columns, checks and indexes
               (owner, no RLS, no foreign keys): what the disk and indexes allow at best

Each is run `--rounds` times (default 1), best kept. Peak memory is the process's maximum resident set
(ru_maxrss), which the end-to-end import dominates (the generator and the baselines stream).

Runs on DATABASE_URL when set (a role that may create roles and databases), else the embedded server in
.podsponsor/pgdata; provisions and migrates its own database `podsponsor_bench` and drops it afterwards.
The last line printed is one JSON object: rows_per_s, ratio_vs_upsert, ratio_vs_copy, peak_mb.

    .venv/bin/python bench/etl_import.py [--rows 1000000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg

from podsponsor.db.bootstrap import DatabaseUrls

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "podsponsor_bench"
OWNER_ROLE = "podsponsor_owner"
RUNTIME_ROLE = "podsponsor_app"
EPISODES = 1_000
SOURCE = "bench"
COLUMNS = "day, episode_id, source, downloads, listeners, completion_rate, ctr, conversions, revenue_cents"
BLOCK = 1 << 20
FIRST_DAY = date(2021, 1, 1)


def admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from podsponsor.db import embedded

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return embedded.start((ROOT / ".podsponsor" / "pgdata").resolve())


def conninfo(url: str) -> str:
    from podsponsor.db.urls import libpq_conninfo

    return libpq_conninfo(url)


def generate(path: Path, rows: int, episodes: list[uuid.UUID]) -> None:
    """Row n: episode n % 1000, day n // 1000; odd-numbered episodes are the half imported beforehand."""
    rng = random.Random(7)
    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(rows // len(episodes) + 1)]
    ids = [str(e) for e in episodes]
    with path.open("w") as out:
        out.write(COLUMNS.replace(" ", "") + "\n")
        lines = []
        for n in range(rows):
            lines.append(
                f"{days[n // len(ids)]},{ids[n % len(ids)]},{SOURCE},{rng.randrange(50_000)},{rng.randrange(40_000)},"
                f"{rng.random():.4f},{rng.random() / 10:.4f},{rng.randrange(100)},{rng.randrange(1_000_000)}\n"
            )
            if len(lines) == 50_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)


def setup(owner: str, rows: int) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    tenant, podcast = uuid.uuid4(), uuid.uuid4()
    episodes = [uuid.uuid4() for _ in range(EPISODES)]
    with psycopg.connect(conninfo(owner)) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, slug, kind) VALUES (%s, 'Bench', %s, 'network')", [tenant, f"b-{tenant}"]
        )
        conn.execute("INSERT INTO podcasts (tenant_id, id, title) VALUES (%s, %s, 'Bench show')", [tenant, podcast])
        with conn.cursor().copy("COPY episodes (tenant_id, id, podcast_id, guid, title) FROM STDIN") as copy:
            for number, episode in enumerate(episodes):
                copy.write_row([tenant, episode, podcast, f"bench-{number}", f"Bench episode {number}"])
        conn.execute(
            f"CREATE TABLE bench_plain (LIKE metrics_daily INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);"
            f"ALTER TABLE bench_plain ALTER tenant_id SET DEFAULT '{tenant}', ALTER id SET DEFAULT gen_random_uuid(),"
            f" ALTER podcast_id SET DEFAULT '{podcast}'"
        )
    return tenant, podcast, episodes


def reset(owner: str, tenant: uuid.UUID, path: Path) -> None:
    """metrics_daily holds exactly the file's keys of odd-numbered episodes, with other numbers."""
    with psycopg.connect(conninfo(owner), autocommit=True) as conn:
        conn.execute("TRUNCATE metrics_daily, etl_imports, bench_plain")
        conn.execute(
            "CREATE TEMP TABLE seed (day date, episode_id uuid, source text, downloads bigint, listeners bigint, "
            "completion_rate float8, ctr float8, conversions bigint, revenue_cents bigint)"
        )
        _copy_file(conn, f"COPY seed ({COLUMNS}) FROM STDIN (FORMAT csv, HEADER true)", path)
        conn.execute(
            "INSERT INTO metrics_daily (tenant_id, id, podcast_id, day, episode_id, source, downloads) "
            "SELECT %s, gen_random_uuid(), e.podcast_id, s.day, s.episode_id, s.source, s.downloads + 1 "
            "FROM seed s JOIN episodes e ON e.tenant_id = %s AND e.id = s.episode_id "
            "WHERE right(e.guid, 1) IN ('1', '3', '5', '7', '9')",
            [tenant, tenant],
        )
        conn.execute("VACUUM ANALYZE metrics_daily")
        conn.execute("VACUUM ANALYZE bench_plain")


def _copy_file(conn: psycopg.Connection, statement: str, path: Path) -> None:
    with conn.cursor().copy(statement) as copy, path.open("rb") as source:
        while block := source.read(BLOCK):
            copy.write(block)


def plain_copy(owner: str, path: Path) -> None:
    with psycopg.connect(conninfo(owner)) as conn:
        _copy_file(conn, f"COPY bench_plain ({COLUMNS}) FROM STDIN (FORMAT csv, HEADER true)", path)


def staged_upsert(app: str, tenant: uuid.UUID, path: Path) -> None:
    with psycopg.connect(conninfo(app)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant)])
        conn.execute(
            "CREATE TEMP TABLE staging (day date, episode_id uuid, source text, downloads bigint, listeners bigint,"
            " completion_rate float8, ctr float8, conversions bigint, revenue_cents bigint) ON COMMIT DROP"
        )
        _copy_file(conn, f"COPY staging ({COLUMNS}) FROM STDIN (FORMAT csv, HEADER true)", path)
        metrics = "downloads, listeners, completion_rate, ctr, conversions, revenue_cents"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in metrics.split(", "))
        conn.execute(
            f"INSERT INTO metrics_daily (tenant_id, id, day, episode_id, podcast_id, source, {metrics}) "
            f"SELECT %s, gen_random_uuid(), s.day, s.episode_id, e.podcast_id, s.source, {metrics} "
            "FROM staging s JOIN episodes e ON e.tenant_id = %s AND e.id = s.episode_id "
            f"ON CONFLICT (tenant_id, episode_id, day, source) DO UPDATE SET {updates}, updated_at = now()",
            [tenant, tenant],
        )


def pipeline_import(urls: DatabaseUrls, tenant: uuid.UUID, path: Path) -> int:
    from podsponsor.auth.subject import system_subject
    from podsponsor.config import Settings
    from podsponsor.db import engine
    from podsponsor.metrics import pipeline
    from podsponsor.metrics.schemas import ImportOptions

    async def run() -> int:
        engine.configure(Settings(), urls)
        try:
            subject = system_subject(tenant)
            arrival = pipeline.copy_local(subject, path, uuid.uuid4())
            record = await pipeline.accept(subject, arrival, ImportOptions(), wait=True)
            assert record.status == "completed", record.status
            return record.rows_inserted + record.rows_updated
        finally:
            await engine.dispose()

    return asyncio.run(run())


def best(rounds: int, prepare: Callable[[], None], run: Callable[[], object]) -> float:
    seconds = []
    for _ in range(rounds):
        prepare()
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    from podsponsor.config import reset_settings
    from podsponsor.db import bootstrap, embedded, migrate

    admin = admin_url()
    bootstrap.drop_database(admin, DATABASE)
    urls = bootstrap.provision(admin, DATABASE, OWNER_ROLE, RUNTIME_ROLE)
    work = Path(tempfile.mkdtemp(prefix="etl-bench-"))
    try:
        migrate.upgrade(urls.owner, RUNTIME_ROLE)
        os.environ.update({"DATABASE_URL": urls.owner, "DATABASE_APP_URL": urls.app, "PODSPONSOR_DATA_DIR": str(work),
                           "ETL_MAX_UPLOAD_MB": "2048", "LOG_LEVEL": "WARNING"})  # fmt: skip
        reset_settings()
        tenant, _, episodes = setup(urls.owner, args.rows)
        csv_path = work / "metrics.csv"
        generate(csv_path, args.rows, episodes)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB, half of the keys present", flush=True)

        def prepare() -> None:
            reset(urls.owner, tenant, csv_path)

        copy_s = best(args.rounds, prepare, lambda: plain_copy(urls.owner, csv_path))
        upsert_s = best(args.rounds, prepare, lambda: staged_upsert(urls.app, tenant, csv_path))
        import_s = best(args.rounds, prepare, lambda: pipeline_import(urls, tenant, csv_path))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows_per_s = args.rows / import_s
        print(f"(b) plain COPY into the indexed table: {args.rows / copy_s:,.0f} rows/s ({copy_s:.2f} s)", flush=True)
        print(
            f"(a) COPY, staging, INSERT ON CONFLICT: {args.rows / upsert_s:,.0f} rows/s ({upsert_s:.2f} s)", flush=True
        )
        print(f"end-to-end import: {rows_per_s:,.0f} rows/s ({import_s:.2f} s), peak {peak_mb:.0f} MB", flush=True)
        result = {
            "rows_per_s": round(rows_per_s),
            "ratio_vs_upsert": round(upsert_s / import_s, 3),
            "ratio_vs_copy": round(copy_s / import_s, 3),
            "peak_mb": round(peak_mb, 1),
        }
        print(json.dumps(result))
    finally:
        bootstrap.drop_database(admin, DATABASE)
        for leftover in sorted(work.rglob("*"), reverse=True):
            leftover.unlink() if leftover.is_file() else leftover.rmdir()
        work.rmdir()
        embedded.stop()


if __name__ == "__main__":
    main()
