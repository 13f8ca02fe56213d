from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.paging import ordered, page_rows
from podsponsor.events.models import Event
from podsponsor.listing import Window


async def add(session: AsyncSession, event: Event) -> None:
    session.add(event)
    await session.flush()


def _filtered(tenant_id: uuid.UUID, types: list[str], since: datetime | None, until: datetime | None) -> Select[Event]:
    query = select(Event).where(Event.tenant_id == tenant_id)
    if types:
        query = query.where(Event.type.in_(types))
    if since is not None:
        query = query.where(Event.at >= since)
    if until is not None:
        query = query.where(Event.at < until)
    return query


async def list_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    types: list[str],
    since: datetime | None,
    until: datetime | None,
    page: Window,
) -> tuple[Sequence[Event], int]:
    query = _filtered(tenant_id, types, since, until)
    return await page_rows(session, query, page, ordered(Event.at, page, nulls=False), Event.id)
