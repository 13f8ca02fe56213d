"""Every query of host/CDN log imports: the import records, and the COPY → staging → insert path of their requests.

PostgreSQL refuses COPY FROM into a table with row-level security, so requests are copied into a temporary table
first (no policies: it is this session's own) and moved into `log_requests` with one INSERT … SELECT that RLS checks
like any other. `ON CONFLICT DO NOTHING` on (tenant_id, line_id) makes a line already stored by an earlier import of
the same file a no-op, and two imports of one file at once wait for each other instead of failing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window
from podsponsor.measurement.log_models import LogImport

# The columns of a staged request, in the order of the CSV block the service writes.
STAGED_COLUMNS: Final = (
    "line_id",
    "ts",
    "method",
    "url",
    "status",
    "range_start",
    "range_end",
    "bytes_sent",
    "user_agent",
    "referer",
    "ip_hash",
    "country",
    "datacenter",
)
CREATE_STAGING: Final = """
CREATE TEMP TABLE log_requests_staging (
  line_id text NOT NULL, ts timestamptz NOT NULL, method text NOT NULL, url text NOT NULL, status smallint NOT NULL,
  range_start bigint, range_end bigint, bytes_sent bigint, user_agent text, referer text, ip_hash text NOT NULL,
  country text, datacenter text
) ON COMMIT DROP
"""
COPY_STAGING: Final = f"COPY log_requests_staging ({', '.join(STAGED_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
MOVE_STAGED: Final = f"""
WITH stored AS (
  INSERT INTO log_requests (tenant_id, id, import_id, {", ".join(STAGED_COLUMNS)})
  SELECT :tenant_id, gen_random_uuid(), :import_id, {", ".join(STAGED_COLUMNS)} FROM log_requests_staging
  ON CONFLICT (tenant_id, line_id) DO NOTHING
  RETURNING 1
)
SELECT count(*) FROM stored
"""

StoreBlock = Callable[[bytes], Awaitable[int]]


async def add(session: AsyncSession, record: LogImport) -> None:
    session.add(record)
    await session.flush()


async def get_import(session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID) -> LogImport | None:
    return await session.scalar(select(LogImport).where(LogImport.tenant_id == tenant_id, LogImport.id == import_id))


async def list_imports(session: AsyncSession, tenant_id: uuid.UUID, page: Window) -> tuple[Sequence[LogImport], int]:
    query = select(LogImport).where(LogImport.tenant_id == tenant_id)
    order = ordered(getattr(LogImport, page.sort), page)
    return await page_rows(session, query.options(defer(LogImport.errors, raiseload=True)), page, order, LogImport.id)


@asynccontextmanager
async def staging(session: AsyncSession, tenant_id: uuid.UUID, import_id: uuid.UUID) -> AsyncIterator[StoreBlock]:
    """A temporary staging table for the session's transaction, and a function that stores one block of requests
    (CSV in STAGED_COLUMNS order) in `log_requests`, answering how many of them were new."""
    await session.execute(text(CREATE_STAGING))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection

    async def store(block: bytes) -> int:
        async with driver.cursor() as cursor, cursor.copy(COPY_STAGING) as copy:
            await copy.write(block)
        stored = await session.scalar(text(MOVE_STAGED), {"tenant_id": tenant_id, "import_id": import_id})
        await session.execute(text("TRUNCATE log_requests_staging"))
        return int(stored or 0)

    yield store
    # Dropped now rather than at commit, so a second import in the same transaction can stage again. (On an error
    # the transaction rolls back, and the table with it.)
    await session.execute(text("DROP TABLE log_requests_staging"))
