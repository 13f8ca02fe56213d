"""Every attribution query: conversion sources, their deliveries and health, and conversions.

`only_sponsor` narrows a query to one sponsor (advertiser users). Writes that must take effect once under concurrent
requests are single `INSERT … ON CONFLICT DO NOTHING` statements: the unique index decides, not a read before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution.models import Conversion, ConversionDelivery, ConversionSource, PixelEvent
from podsponsor.attribution.schemas import SourceRef
from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window

# SECURITY DEFINER (migration 0009): a webhook URL names no workspace, so this is the one lookup across them.
SOURCE_FOR_TOKEN = text(
    "SELECT tenant_id, source_id, kind, sponsor_id, active, secret_encrypted "
    "FROM attribution_source_for_token(CAST(:token AS text))"
)


async def source_for_token(session: AsyncSession, token: str) -> SourceRef | None:
    row = (await session.execute(SOURCE_FOR_TOKEN, {"token": token})).first()
    return SourceRef(*row) if row else None


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_source(
    session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID, *, only_sponsor: uuid.UUID | None = None
) -> ConversionSource | None:
    query = select(ConversionSource).where(ConversionSource.tenant_id == tenant_id, ConversionSource.id == source_id)
    if only_sponsor is not None:
        query = query.where(ConversionSource.sponsor_id == only_sponsor)
    return await session.scalar(query)


async def list_sources(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    sponsor_id: uuid.UUID | None,
    kind: str | None,
    active: bool | None,
    page: Window,
) -> tuple[Sequence[ConversionSource], int]:
    query = select(ConversionSource).where(ConversionSource.tenant_id == tenant_id)
    if only_sponsor is not None:
        query = query.where(ConversionSource.sponsor_id == only_sponsor)
    if sponsor_id is not None:
        query = query.where(ConversionSource.sponsor_id == sponsor_id)
    if kind is not None:
        query = query.where(ConversionSource.kind == kind)
    if active is not None:
        query = query.where(ConversionSource.active.is_(active))
    order: ColumnElement[Any] = (
        func.lower(ConversionSource.name) if page.sort == "name" else getattr(ConversionSource, page.sort)
    )
    return await page_rows(session, query, page, ordered(order, page), ConversionSource.id)


async def source_is_used(session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID) -> bool:
    """Whether conversions or pixel events point at the source (its deliveries go with it)."""
    conversions = exists().where(Conversion.tenant_id == tenant_id, Conversion.source_id == source_id)
    pixel_events = exists().where(PixelEvent.tenant_id == tenant_id, PixelEvent.source_id == source_id)
    return bool(await session.scalar(select(conversions | pixel_events)))


async def delete_source(session: AsyncSession, source: ConversionSource) -> None:
    await session.execute(
        delete(ConversionSource).where(ConversionSource.tenant_id == source.tenant_id, ConversionSource.id == source.id)
    )


async def count_event(session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID, at: datetime) -> None:
    # `updated_at` keeps saying when the source itself was last changed, not when it last heard from its platform.
    await session.execute(
        update(ConversionSource)
        .where(ConversionSource.tenant_id == tenant_id, ConversionSource.id == source_id)
        .values(
            events_received=ConversionSource.events_received + 1,
            last_event_at=func.greatest(func.coalesce(ConversionSource.last_event_at, at), at),
            updated_at=ConversionSource.updated_at,
        )
    )


async def note_failure(
    session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID, at: datetime, reason: str, *, signature: bool
) -> None:
    failures = ConversionSource.signature_failures + (1 if signature else 0)
    await session.execute(
        update(ConversionSource)
        .where(ConversionSource.tenant_id == tenant_id, ConversionSource.id == source_id)
        .values(
            signature_failures=failures,
            last_failure_at=at,
            last_failure_reason=reason,
            updated_at=ConversionSource.updated_at,
        )
    )


async def claim_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID, event_id: str, topic: str | None, outcome: str
) -> uuid.UUID | None:
    """Records a platform event as received; None when it already was (by this or a concurrent request)."""
    statement = (
        insert(ConversionDelivery)
        .values(
            tenant_id=tenant_id, id=uuid.uuid4(), source_id=source_id, event_id=event_id, topic=topic, outcome=outcome
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "source_id", "event_id"])
        .returning(ConversionDelivery.id)
    )
    return await session.scalar(statement)


async def settle_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, outcome: str, conversion_id: uuid.UUID | None
) -> None:
    await session.execute(
        update(ConversionDelivery)
        .where(ConversionDelivery.tenant_id == tenant_id, ConversionDelivery.id == delivery_id)
        .values(outcome=outcome, conversion_id=conversion_id)
    )


async def insert_conversion(session: AsyncSession, values: dict[str, Any]) -> Conversion | None:
    """Inserts the conversion; None when its source already has that order id."""
    statement = (
        insert(Conversion)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_nothing(
            index_elements=["tenant_id", "source_id", "order_id"], index_where=Conversion.order_id.is_not(None)
        )
        .returning(Conversion)
    )
    return await session.scalar(statement)


async def conversion_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID, order_id: str
) -> Conversion | None:
    return await session.scalar(
        select(Conversion).where(
            Conversion.tenant_id == tenant_id, Conversion.source_id == source_id, Conversion.order_id == order_id
        )
    )


# The latest completed attribution run of each campaign, with its campaign's sponsor: the sources page reports the
# unusable-address share of a sponsor's conversions from these.
LATEST_RUNS_BY_SPONSOR = """
    SELECT c.sponsor_id, r.stats
    FROM attribution_runs r
    JOIN campaigns c ON c.tenant_id = r.tenant_id AND c.id = r.campaign_id
    WHERE r.tenant_id = :tenant AND r.status = 'completed'
      AND r.started_at = (
        SELECT max(x.started_at) FROM attribution_runs x
        WHERE x.tenant_id = r.tenant_id AND x.campaign_id = r.campaign_id AND x.status = 'completed')
"""


async def latest_run_stats_by_sponsor(session: AsyncSession, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, Any]]:
    rows = await session.execute(text(LATEST_RUNS_BY_SPONSOR), {"tenant": tenant_id})
    return [(row.sponsor_id, row.stats) for row in rows]
