"""Every query of counting: reading a day's requests into polars, the episodes they match, earlier windows, and
replacing a day's downloads and tallies.

Requests are read with `COPY (SELECT …) TO STDOUT` (CSV straight into polars: millions of rows without a Python
object each); counted rows go back through a temporary staging table (`COPY … FROM` is refused on a table under
row-level security, so the final `INSERT … SELECT` is the statement RLS checks). Every query also names the tenant,
and RLS filters underneath.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Final

import polars as pl
from psycopg import sql
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.copy import copy_out, driver_connection
from podsponsor.db.paging import page_rows
from podsponsor.listing import Window
from podsponsor.measurement import logs
from podsponsor.measurement.count_models import CountRun, Download, DownloadTally

# A day is counted by one run at a time: two would each delete the other's rows and double nothing, but their
# run records would interleave. The key is the tenant and day, so other days and tenants count in parallel.
COUNT_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"

PREFIX_SCHEMA: Final[dict[str, pl.DataType]] = {
    "id": pl.Utf8(),
    "ts": pl.Datetime("us", "UTC"),
    "podcast_id": pl.Utf8(),
    "method": pl.Utf8(),
    "destination": pl.Utf8(),
    "range_header": pl.Utf8(),
    "user_agent": pl.Utf8(),
    "referer": pl.Utf8(),
    "ip_hash": pl.Utf8(),
    "country": pl.Utf8(),
    "datacenter": pl.Utf8(),
    "status": pl.Int32(),
}
# A log request as stored: what the log readers produce, less the line number (in the id) and the source kind.
LOG_SCHEMA: Final[dict[str, pl.DataType]] = {
    name: dtype for name, dtype in logs.SCHEMA.items() if name not in ("line", "source_kind")
}
EPISODE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "episode_id": pl.Utf8(),
    "podcast_id": pl.Utf8(),
    "enclosure_url": pl.Utf8(),
    "enclosure_destination_url": pl.Utf8(),
    "enclosure_bytes": pl.Int64(),
    "duration_seconds": pl.Float64(),
}
PRIOR_SCHEMA: Final[dict[str, pl.DataType]] = {
    "first_request_id": pl.Utf8(),
    "window_start": pl.Datetime("us", "UTC"),
    "episode_id": pl.Utf8(),
    "source_kind": pl.Utf8(),
    "ip_hash": pl.Utf8(),
    "user_agent": pl.Utf8(),
}
DOWNLOAD_COLUMNS: Final = (
    "tenant_id",
    "id",
    "day",
    "window_start",
    "window_type",
    "podcast_id",
    "episode_id",
    "source_kind",
    "listener",
    "app",
    "device",
    "device_category",
    "country",
    "requests",
    "bytes_covered",
    "bytes_required",
    "first_request_id",
    "run_id",
)
TALLY_COLUMNS: Final = (
    "tenant_id",
    "id",
    "day",
    "podcast_id",
    "episode_id",
    "source_kind",
    "reason",
    "requests",
    "run_id",
)


async def lock_day(session: AsyncSession, tenant_id: uuid.UUID, day: date) -> None:
    await session.execute(text(COUNT_LOCK_SQL), {"key": f"count:{tenant_id}:{day.isoformat()}"})


def _between(tenant_id: uuid.UUID, start: datetime, end: datetime) -> sql.Composed:
    return sql.SQL("tenant_id = {} AND ts >= {} AND ts < {}").format(
        sql.Literal(str(tenant_id)), sql.Literal(start), sql.Literal(end)
    )


async def prefix_hits(session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime) -> pl.DataFrame:
    """The prefix hits of [start, end), in time order."""
    query = sql.SQL(
        "SELECT id::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+0000' AS ts, "
        "podcast_id::text, method, destination, range_header, user_agent, referer, ip_hash, country, datacenter, "
        "status FROM download_requests WHERE {} ORDER BY ts, id"
    ).format(_between(tenant_id, start, end))
    return await copy_out(session, query, PREFIX_SCHEMA)


async def log_requests(session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime) -> pl.DataFrame:
    """The imported host/CDN log requests of [start, end), in time order."""
    query = sql.SQL(
        "SELECT line_id AS id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+0000' AS ts, "
        "method, url, status, range_start, range_end, bytes_sent, user_agent, referer, ip_hash, country, "
        "datacenter FROM log_requests WHERE {} ORDER BY ts, line_id"
    ).format(_between(tenant_id, start, end))
    return await copy_out(session, query, LOG_SCHEMA)


async def episodes(session: AsyncSession, tenant_id: uuid.UUID) -> pl.DataFrame:
    """Every episode with an enclosure (deleted ones too: their downloads still happened)."""
    query = sql.SQL(
        "SELECT id::text AS episode_id, podcast_id::text, enclosure_url, enclosure_destination_url, "
        "enclosure_bytes, duration_seconds FROM episodes WHERE tenant_id = {} AND enclosure_url IS NOT NULL "
        "ORDER BY publish_date DESC NULLS LAST, id"
    ).format(sql.Literal(str(tenant_id)))
    return await copy_out(session, query, EPISODE_SCHEMA)


async def prior_downloads(session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime) -> pl.DataFrame:
    """Downloads whose window opened in [start, end): first-touch windows still open when a batch starts."""
    # The listener's address hash and user agent are the first request's, found by its exact time and id.
    query = sql.SQL(
        "SELECT d.first_request_id, to_char(d.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') "
        "|| '+0000' AS window_start, d.episode_id::text, d.source_kind, "
        "coalesce(r.ip_hash, l.ip_hash) AS ip_hash, coalesce(r.user_agent, l.user_agent) AS user_agent "
        "FROM downloads d "
        "LEFT JOIN download_requests r ON d.source_kind = 'prefix' AND r.tenant_id = d.tenant_id "
        "AND r.ts = d.window_start AND r.id::text = d.first_request_id "
        "LEFT JOIN log_requests l ON d.source_kind = 'logs' AND l.tenant_id = d.tenant_id "
        "AND l.line_id = d.first_request_id "
        "WHERE d.tenant_id = {} AND d.window_start >= {} AND d.window_start < {}"
    ).format(sql.Literal(str(tenant_id)), sql.Literal(start), sql.Literal(end))
    return await copy_out(session, query, PRIOR_SCHEMA)


async def replace_day(
    session: AsyncSession, tenant_id: uuid.UUID, day: date, downloads: pl.DataFrame, tallies: pl.DataFrame
) -> None:
    """The day's downloads and tallies become exactly these rows (columns as DOWNLOAD_COLUMNS/TALLY_COLUMNS)."""
    await session.execute(delete(Download).where(Download.tenant_id == tenant_id, Download.day == day))
    await session.execute(delete(DownloadTally).where(DownloadTally.tenant_id == tenant_id, DownloadTally.day == day))
    await _insert_through_stage(session, "downloads", DOWNLOAD_COLUMNS, downloads)
    await _insert_through_stage(session, "download_tallies", TALLY_COLUMNS, tallies)


async def _insert_through_stage(session: AsyncSession, table: str, columns: Sequence[str], rows: pl.DataFrame) -> None:
    if not rows.height:
        return
    stage = f"stage_{table}"
    await session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{stage}"))
    await session.execute(text(f"CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP"))
    names = ", ".join(columns)
    driver = await driver_connection(session)
    body = rows.select(columns).write_csv(include_header=False, null_value="", quote_style="non_numeric")
    async with driver.cursor() as cursor, cursor.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT csv)") as copy:
        await copy.write(body)
    await session.execute(text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage}"))
    await session.execute(text(f"DROP TABLE pg_temp.{stage}"))


# Runs ----------------------------------------------------------------------------------------------------------------


async def add_run(session: AsyncSession, run: CountRun) -> None:
    session.add(run)
    await session.flush()


async def latest_runs(
    session: AsyncSession, tenant_id: uuid.UUID, page: Window, day: date | None = None
) -> tuple[Sequence[CountRun], int]:
    query = select(CountRun).where(CountRun.tenant_id == tenant_id)
    if day is not None:
        query = query.where(CountRun.day == day)
    return await page_rows(session, query, page, CountRun.started_at.desc(), CountRun.id)


async def run_of_day(session: AsyncSession, tenant_id: uuid.UUID, day: date) -> CountRun | None:
    """The completed run whose counts the day holds now."""
    return await session.scalar(
        select(CountRun)
        .where(CountRun.tenant_id == tenant_id, CountRun.day == day, CountRun.status == "completed")
        .order_by(CountRun.started_at.desc())
        .limit(1)
    )


async def hit_day(session: AsyncSession, tenant_id: uuid.UUID, hit_id: str) -> tuple[datetime, str] | None:
    """When a request was made and its source kind: a prefix hit by uuid, a log request by line id."""
    try:
        as_uuid = uuid.UUID(hit_id)
    except ValueError:
        found = await session.scalar(
            text("SELECT ts FROM log_requests WHERE tenant_id = :tenant AND line_id = :id"),
            {"tenant": tenant_id, "id": hit_id},
        )
        return (found, "logs") if found is not None else None
    found = await session.scalar(
        text("SELECT ts FROM download_requests WHERE tenant_id = :tenant AND id = :id"),
        {"tenant": tenant_id, "id": as_uuid},
    )
    return (found, "prefix") if found is not None else None


async def has_requests(session: AsyncSession, tenant_id: uuid.UUID, start: datetime, end: datetime) -> bool:
    """Whether any prefix hit or log request of the tenant falls in [start, end)."""
    found = await session.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM download_requests WHERE tenant_id = :tenant AND ts >= :start AND ts < :end)"
            " OR EXISTS (SELECT 1 FROM log_requests WHERE tenant_id = :tenant AND ts >= :start AND ts < :end)"
        ),
        {"tenant": tenant_id, "start": start, "end": end},
    )
    return bool(found)
