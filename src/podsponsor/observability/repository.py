from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def migration_version(session: AsyncSession) -> str | None:
    value = await session.scalar(text("SELECT version_num FROM alembic_version LIMIT 1"))
    return str(value) if value is not None else None


async def job_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"))
    return {status: int(count) for status, count in rows.tuples()}
