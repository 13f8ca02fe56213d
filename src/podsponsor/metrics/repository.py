"""Every metrics query: imports, the COPY → staging → upsert path, and reading the daily numbers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window
from podsponsor.metrics.models import EtlImport, MetricDaily
from podsponsor.metrics.transform import STAGING_COLUMNS

CREATE_STAGING = """
CREATE TEMP TABLE metrics_staging (
  row_no integer NOT NULL, day date NOT NULL, episode_id uuid NOT NULL, podcast_id uuid NOT NULL,
  source text NOT NULL, downloads bigint, listeners bigint, completion_rate double precision,
  ctr double precision, conversions bigint, revenue_cents bigint
) ON COMMIT DROP
"""
COPY_STAGING = f"COPY metrics_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
METRIC_COLUMNS = ("downloads", "listeners", "completion_rate", "ctr", "conversions", "revenue_cents")
UPSERT = f"""
WITH written AS (
  INSERT INTO metrics_daily AS m
    (tenant_id, id, day, episode_id, podcast_id, source, {", ".join(METRIC_COLUMNS)}, import_id)
  SELECT :tenant_id, gen_random_uuid(), day, episode_id, podcast_id, source, {", ".join(METRIC_COLUMNS)}, :import_id
  FROM metrics_staging
  ON CONFLICT (tenant_id, episode_id, day, source) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in METRIC_COLUMNS)},
    import_id = EXCLUDED.import_id, updated_at = now()
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""
# Counting per key is all a clean file costs; rows are gathered only for the keys that repeat.
DUPLICATES = """
WITH repeated AS (
  SELECT episode_id, day, source, min(row_no) AS first_row FROM metrics_staging
  GROUP BY episode_id, day, source HAVING count(*) > 1 ORDER BY first_row LIMIT :limit
)
SELECT r.day, r.source, array_agg(s.row_no ORDER BY s.row_no) AS rows
FROM repeated r JOIN metrics_staging s USING (episode_id, day, source)
GROUP BY r.episode_id, r.day, r.source, r.first_row ORDER BY r.first_row
"""


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_import(session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID) -> EtlImport | None:
    return await session.scalar(select(EtlImport).where(EtlImport.tenant_id == tenant_id, EtlImport.id == import_id))


async def completed_import_of(session: AsyncSession, tenant_id: uuid.UUID, sha256: str) -> EtlImport | None:
    return await session.scalar(
        select(EtlImport).where(
            EtlImport.tenant_id == tenant_id,
            EtlImport.sha256 == sha256,
            EtlImport.status == "completed",
            EtlImport.duplicate_of.is_(None),
        )
    )


async def lock_content(session: AsyncSession, tenant_id: uuid.UUID, sha256: str) -> None:
    """Serialise imports of the same file in one tenant until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"etl:{tenant_id}:{sha256}"}
    )


async def list_imports(session: AsyncSession, tenant_id: uuid.UUID, page: Window) -> tuple[Sequence[EtlImport], int]:
    query = select(EtlImport).where(EtlImport.tenant_id == tenant_id)
    order = ordered(getattr(EtlImport, page.sort), page, nulls=False)
    return await page_rows(session, query.options(defer(EtlImport.errors, raiseload=True)), page, order, EtlImport.id)


async def set_progress(
    session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID, progress: float, rows_processed: int
) -> None:
    await session.execute(
        update(EtlImport)
        .where(EtlImport.tenant_id == tenant_id, EtlImport.id == import_id, EtlImport.status == "processing")
        .values(progress=progress, rows_processed=rows_processed)
    )


async def previous_watermark(session: AsyncSession, tenant_id: uuid.UUID, source: str) -> date | None:
    return await session.scalar(
        select(func.max(EtlImport.last_sync_watermark)).where(
            EtlImport.tenant_id == tenant_id, EtlImport.source == source, EtlImport.status == "completed"
        )
    )


@asynccontextmanager
async def staging(session: AsyncSession) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """A temporary staging table (dropped at commit or rollback) and a writer of COPY text into it.

    The COPY runs on the session's own connection and transaction, through psycopg's COPY protocol: rows stream
    to the server while the caller checks the next chunk."""
    await session.execute(text(CREATE_STAGING))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    async with driver.cursor() as cursor, cursor.copy(COPY_STAGING) as copy:

        async def write(block: str) -> None:
            await copy.write(block)

        yield write


async def upsert_staged(session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID) -> tuple[int, int]:
    """Write the staged rows into metrics_daily: (inserted, updated). The staged keys must be distinct
    (`staged_duplicates` is empty), or PostgreSQL refuses the statement."""
    result = await session.execute(text(UPSERT), {"tenant_id": tenant_id, "import_id": import_id})
    inserted, updated = result.one()
    return int(inserted), int(updated)


async def staged_duplicates(session: AsyncSession, limit: int) -> list[tuple[date, str, list[int]]]:
    """Keys staged more than once: (day, source, the spreadsheet rows that repeat it, first row first)."""
    rows = await session.execute(text(DUPLICATES), {"limit": limit})
    return [(row.day, row.source, list(row.rows)) for row in rows]


def _metrics_query(
    tenant_id: uuid.UUID,
    podcast_id: uuid.UUID | None,
    episode_id: uuid.UUID | None,
    source: str | None,
    day_from: date | None,
    day_to: date | None,
) -> Select[Any]:
    query = select(MetricDaily).where(MetricDaily.tenant_id == tenant_id)
    if podcast_id is not None:
        query = query.where(MetricDaily.podcast_id == podcast_id)
    if episode_id is not None:
        query = query.where(MetricDaily.episode_id == episode_id)
    if source is not None:
        query = query.where(MetricDaily.source == source)
    if day_from is not None:
        query = query.where(MetricDaily.day >= day_from)
    if day_to is not None:
        query = query.where(MetricDaily.day <= day_to)
    return query


async def list_metrics(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: tuple[uuid.UUID | None, uuid.UUID | None, str | None, date | None, date | None],
    page: Window,
) -> tuple[Sequence[MetricDaily], int]:
    query = _metrics_query(tenant_id, *filters)
    order = ordered(getattr(MetricDaily, page.sort), page)
    return await page_rows(session, query, page, order, MetricDaily.episode_id, MetricDaily.source)


async def daily_totals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    podcast_id: uuid.UUID | None,
    source: str | None,
    day_from: date,
    day_to: date,
) -> list[dict[str, Any]]:
    """One row per day with numbers: sums of the counts, and the rates weighted by downloads."""
    inner = _metrics_query(tenant_id, podcast_id, None, source, day_from, day_to).subquery()
    weighted = func.sum(inner.c.completion_rate * inner.c.downloads) / func.nullif(
        func.sum(inner.c.downloads).filter(inner.c.completion_rate.is_not(None)), 0
    )
    clicked = func.sum(inner.c.ctr * inner.c.downloads) / func.nullif(
        func.sum(inner.c.downloads).filter(inner.c.ctr.is_not(None)), 0
    )
    rows = await session.execute(
        select(
            inner.c.day,
            func.sum(inner.c.downloads).label("downloads"),
            func.sum(inner.c.listeners).label("listeners"),
            weighted.label("completion_rate"),
            clicked.label("ctr"),
            func.sum(inner.c.conversions).label("conversions"),
            func.sum(inner.c.revenue_cents).label("revenue_cents"),
            func.count().label("rows"),
        )
        .group_by(inner.c.day)
        .order_by(inner.c.day)
    )
    return [dict(row._mapping) for row in rows]


async def replace_measured_day(
    session: AsyncSession, tenant_id: uuid.UUID, day: date, sources: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """The day's rows of `sources` become exactly `rows` (episode_id, podcast_id, source, downloads, listeners)."""
    await session.execute(
        delete(MetricDaily).where(
            MetricDaily.tenant_id == tenant_id, MetricDaily.day == day, MetricDaily.source.in_(sources)
        )
    )
    if rows:
        await session.execute(insert(MetricDaily), [{**row, "tenant_id": tenant_id, "day": day} for row in rows])
