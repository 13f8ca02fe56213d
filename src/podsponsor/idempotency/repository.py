"""Queries of the idempotency keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.idempotency.models import IdempotencyRecord


async def lock(session: AsyncSession, tenant_id: uuid.UUID, scope: str, key: str) -> None:
    """Two requests with one key wait for each other: the second then finds the first's answer."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"idempotency:{tenant_id}:{scope}:{key}"},
    )


async def find(session: AsyncSession, tenant_id: uuid.UUID, scope: str, key: str) -> IdempotencyRecord | None:
    return await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )


async def add(session: AsyncSession, record: IdempotencyRecord) -> None:
    session.add(record)
    await session.flush()


async def prune(session: AsyncSession, tenant_id: uuid.UUID, before: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.created_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
