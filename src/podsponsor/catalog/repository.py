"""Every catalog query. Deleted rows are hidden everywhere but in history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.catalog.models import Episode, Podcast
from podsponsor.listing import Window


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_podcast(session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID) -> Podcast | None:
    return await session.scalar(
        select(Podcast).where(Podcast.tenant_id == tenant_id, Podcast.id == podcast_id, Podcast.deleted_at.is_(None))
    )


async def podcast_by_feed(session: AsyncSession, tenant_id: uuid.UUID, feed_url: str) -> Podcast | None:
    return await session.scalar(
        select(Podcast).where(
            Podcast.tenant_id == tenant_id, Podcast.feed_url == feed_url, Podcast.deleted_at.is_(None)
        )
    )


async def _page(session: AsyncSession, query: Select[Any], model: Any, page: Window) -> tuple[Sequence[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    column = getattr(model, page.sort)
    order = column.desc().nulls_last() if page.descending else column.asc().nulls_first()
    rows = await session.scalars(query.order_by(order, model.id).limit(page.limit).offset(page.offset))
    return rows.all(), total


async def list_podcasts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    q: str | None,
    category: str | None,
    explicit: bool | None,
    page: Window,
) -> tuple[Sequence[Podcast], int]:
    query = select(Podcast).where(Podcast.tenant_id == tenant_id, Podcast.deleted_at.is_(None))
    if q:
        query = query.where(Podcast.title.icontains(q, autoescape=True) | Podcast.author.icontains(q, autoescape=True))
    if category:
        query = query.where(Podcast.categories.contains([category]))
    if explicit is not None:
        query = query.where(Podcast.explicit.is_(explicit))
    return await _page(session, query, Podcast, page)


async def get_episode(session: AsyncSession, tenant_id: uuid.UUID, episode_id: uuid.UUID) -> Episode | None:
    return await session.scalar(
        select(Episode).where(Episode.tenant_id == tenant_id, Episode.id == episode_id, Episode.deleted_at.is_(None))
    )


async def episode_by_guid(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID, guid: str
) -> Episode | None:
    return await session.scalar(
        select(Episode).where(
            Episode.tenant_id == tenant_id,
            Episode.podcast_id == podcast_id,
            Episode.guid == guid,
            Episode.deleted_at.is_(None),
        )
    )


async def list_episodes(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    podcast_id: uuid.UUID | None,
    q: str | None,
    published_from: datetime | None,
    published_to: datetime | None,
    page: Window,
) -> tuple[Sequence[Episode], int]:
    query = select(Episode).where(Episode.tenant_id == tenant_id, Episode.deleted_at.is_(None))
    if podcast_id is not None:
        query = query.where(Episode.podcast_id == podcast_id)
    if q:
        query = query.where(Episode.title.icontains(q, autoescape=True))
    if published_from is not None:
        query = query.where(Episode.publish_date >= published_from)
    if published_to is not None:
        query = query.where(Episode.publish_date < published_to)
    return await _page(session, query, Episode, page)


async def count_episodes(session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        Episode.tenant_id == tenant_id, Episode.podcast_id == podcast_id, Episode.deleted_at.is_(None)
    )
    return await session.scalar(query) or 0


async def soft_delete(session: AsyncSession, row: Podcast | Episode) -> None:
    row.deleted_at = datetime.now(UTC)
    await session.flush()


async def soft_delete_episodes_of(session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID) -> None:
    await session.execute(
        update(Episode)
        .where(Episode.tenant_id == tenant_id, Episode.podcast_id == podcast_id, Episode.deleted_at.is_(None))
        .values(deleted_at=func.now())
    )
