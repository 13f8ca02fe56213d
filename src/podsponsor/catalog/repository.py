"""Every catalog query. Deleted rows are hidden everywhere but in history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Select, func, literal_column, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
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


EPISODE_FEED_COLUMNS = (
    "guid_source",
    "title",
    "description",
    "summary",
    "link",
    "image_url",
    "enclosure_url",
    "enclosure_destination_url",
    "enclosure_prefixes",
    "enclosure_bytes",
    "enclosure_type",
    "duration_seconds",
    "publish_date",
    "season",
    "episode_number",
    "explicit",
    "episode_type",
    "transcript_url",
    "chapters_url",
    "extras",
)
UPSERT_CHUNK = 1000  # rows per statement: 23 parameters a row stays far below PostgreSQL's 65,535


async def upsert_episodes(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID, rows: list[dict[str, Any]]
) -> tuple[int, int]:
    """Insert new episodes and update changed ones, by guid within the show; (created, updated).

    Rows that did not change are left alone (no write, no new updated_at), so a refresh of an unchanged feed writes
    nothing but its status.
    """
    created = updated = 0
    table = Episode.__table__.c
    for start in range(0, len(rows), UPSERT_CHUNK):
        chunk = [
            {**row, "tenant_id": tenant_id, "podcast_id": podcast_id, "id": uuid.uuid4()}
            for row in rows[start : start + UPSERT_CHUNK]
        ]
        statement = pg_insert(Episode).values(chunk)
        changed = tuple_(*(table[c] for c in EPISODE_FEED_COLUMNS)).is_distinct_from(
            tuple_(*(statement.excluded[c] for c in EPISODE_FEED_COLUMNS))
        )
        upsert = statement.on_conflict_do_update(
            index_elements=["tenant_id", "podcast_id", "guid"],
            index_where=text("deleted_at IS NULL"),
            set_={**{c: statement.excluded[c] for c in EPISODE_FEED_COLUMNS}, "updated_at": func.now()},
            where=changed,
        )
        result = await session.execute(upsert.returning(literal_column("xmax = 0", Boolean)))
        for (inserted,) in result.tuples():
            created += int(bool(inserted))
            updated += int(not inserted)
    return created, updated


async def podcast_for_update(session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID) -> Podcast | None:
    """The show, locked, so two refreshes of one feed cannot interleave their writes."""
    return await session.scalar(
        select(Podcast)
        .where(Podcast.tenant_id == tenant_id, Podcast.id == podcast_id, Podcast.deleted_at.is_(None))
        .with_for_update()
    )


async def due_feed_refreshes(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    rows = await session.execute(text("SELECT * FROM catalog_due_feed_refreshes(:limit)"), {"limit": limit})
    return [(row[0], row[1]) for row in rows]


async def prefix_usage(session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID) -> dict[str, int]:
    """How many of the show's episodes are served through each measurement prefix."""
    prefix = func.unnest(Episode.enclosure_prefixes).label("prefix")
    inner = (
        select(prefix)
        .where(Episode.tenant_id == tenant_id, Episode.podcast_id == podcast_id, Episode.deleted_at.is_(None))
        .subquery()
    )
    rows = await session.execute(select(inner.c.prefix, func.count()).group_by(inner.c.prefix))
    return {name: int(count) for name, count in rows.tuples()}
