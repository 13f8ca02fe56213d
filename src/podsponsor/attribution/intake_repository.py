"""Queries of the conversion intake paths (pixel, API, CSV): the list of conversions, orders recorded in bulk, pixel
events, and the health counters that grow by more than one event at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution.intake_schemas import ConversionQuery
from podsponsor.attribution.models import Conversion, ConversionSource, PixelEvent
from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window


async def list_conversions(
    session: AsyncSession, tenant_id: uuid.UUID, only_sponsor: uuid.UUID | None, where: ConversionQuery, page: Window
) -> tuple[Sequence[Conversion], int]:
    query = select(Conversion).where(Conversion.tenant_id == tenant_id)
    if only_sponsor is not None:
        query = query.where(Conversion.sponsor_id == only_sponsor)
    if where.sponsor_id is not None:
        query = query.where(Conversion.sponsor_id == where.sponsor_id)
    if where.source_id is not None:
        query = query.where(Conversion.source_id == where.source_id)
    if where.kind is not None:
        query = query.where(Conversion.kind == where.kind)
    if where.since is not None:
        query = query.where(Conversion.occurred_at >= where.since)
    if where.until is not None:
        query = query.where(Conversion.occurred_at < where.until)
    return await page_rows(session, query, page, ordered(getattr(Conversion, page.sort), page), Conversion.id)


async def insert_conversions(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Inserts the conversions in one statement; how many were new (an order its source already has, in the table
    or earlier in `rows`, is skipped by the unique index)."""
    if not rows:
        return 0
    statement = (
        insert(Conversion)
        .values([{"id": uuid.uuid4(), **row} for row in rows])
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "source_id", "order_id"], index_where=Conversion.order_id.is_not(None)
        )
        .returning(Conversion.id)
    )
    return len((await session.scalars(statement)).all())


async def add_pixel_event(session: AsyncSession, event: PixelEvent) -> None:
    session.add(event)
    await session.flush()


async def count_events(
    session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID, received: int, at: datetime
) -> None:
    """Adds `received` events to the source's health (an upload brings many at once)."""
    await session.execute(
        update(ConversionSource)
        .where(ConversionSource.tenant_id == tenant_id, ConversionSource.id == source_id)
        .values(
            events_received=ConversionSource.events_received + received,
            last_event_at=func.greatest(func.coalesce(ConversionSource.last_event_at, at), at),
            updated_at=ConversionSource.updated_at,
        )
    )
