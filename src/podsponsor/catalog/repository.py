"""Every catalog query. Deleted rows are hidden everywhere but in history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Boolean, Select, delete, func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.catalog.models import Episode, EpisodeTranscript, Podcast
from podsponsor.db.paging import ordered, page_rows
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
    return await page_rows(session, query, page, ordered(getattr(model, page.sort), page), model.id)


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
_STAGED = ("guid", *EPISODE_FEED_COLUMNS)
_STAGE = "episode_feed_stage"
# Only the staged columns, and none of episodes' NOT NULL constraints: the keys are added by the upsert.
_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS SELECT {', '.join(_STAGED)} FROM episodes WITH NO DATA"
)
_UPSERT_FROM_STAGE = f"""
    INSERT INTO episodes (tenant_id, id, podcast_id, {", ".join(_STAGED)})
    SELECT :tenant_id, gen_random_uuid(), :podcast_id, {", ".join(_STAGED)} FROM {_STAGE}
    ON CONFLICT (tenant_id, podcast_id, guid) WHERE deleted_at IS NULL DO UPDATE
      SET {", ".join(f"{c} = EXCLUDED.{c}" for c in EPISODE_FEED_COLUMNS)}, updated_at = now()
      WHERE ({", ".join(f"episodes.{c}" for c in EPISODE_FEED_COLUMNS)})
            IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in EPISODE_FEED_COLUMNS)})
    RETURNING (xmax = 0)
"""


async def upsert_episodes(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID, rows: list[dict[str, Any]]
) -> tuple[int, int]:
    """Insert new episodes and update changed ones, by guid within the show; (created, updated).

    Rows go in by COPY into a temporary staging table, then one set-based upsert: a 5,000-item feed is one
    statement, not 5,000. Unchanged rows are left alone (no write, no new updated_at), so refreshing an unchanged
    feed writes nothing but the show's status.
    """
    if not rows:
        return 0, 0
    await session.execute(text(_CREATE_STAGE))
    await session.execute(text(f"TRUNCATE {_STAGE}"))
    connection = await (await session.connection()).get_raw_connection()
    driver: Any = connection.driver_connection
    async with driver.cursor() as cursor, cursor.copy(f"COPY {_STAGE} ({', '.join(_STAGED)}) FROM STDIN") as copy:
        for row in rows:
            await copy.write_row([Jsonb(row[c]) if c == "extras" else row[c] for c in _STAGED])
    result = await session.execute(text(_UPSERT_FROM_STAGE), {"tenant_id": tenant_id, "podcast_id": podcast_id})
    inserted = [bool(row[0]) for row in result]
    return sum(inserted), len(inserted) - sum(inserted)


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


async def episode_keys(
    session: AsyncSession, tenant_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID, str, str, datetime | None, str]]:
    """What identifies each live episode: (id, podcast id, guid, title, publish date, show title)."""
    rows = await session.execute(
        select(Episode.id, Episode.podcast_id, Episode.guid, Episode.title, Episode.publish_date, Podcast.title)
        .join(Podcast, (Podcast.tenant_id == Episode.tenant_id) & (Podcast.id == Episode.podcast_id))
        .where(Episode.tenant_id == tenant_id, Episode.deleted_at.is_(None), Podcast.deleted_at.is_(None))
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _transcript_insert(tenant_id: uuid.UUID, episode_id: uuid.UUID, values: dict[str, Any]) -> Insert:
    return pg_insert(EpisodeTranscript).values(tenant_id=tenant_id, id=uuid.uuid4(), episode_id=episode_id, **values)


_TRANSCRIPT_KEY = (EpisodeTranscript.tenant_id, EpisodeTranscript.episode_id)


async def upsert_transcript(
    session: AsyncSession, tenant_id: uuid.UUID, episode_id: uuid.UUID, values: dict[str, Any]
) -> tuple[EpisodeTranscript, bool]:
    """Insert the episode's transcript or replace the one it has, in one statement (two writers of one episode
    cannot both insert); (row, created)."""
    statement = (
        _transcript_insert(tenant_id, episode_id, values)
        .on_conflict_do_update(index_elements=_TRANSCRIPT_KEY, set_={**values, "updated_at": func.now()})
        .returning(EpisodeTranscript, literal_column("xmax = 0", Boolean))
    )
    row = (await session.execute(statement, execution_options={"populate_existing": True})).one()
    return row[0], bool(row[1])


async def add_transcript_if_missing(
    session: AsyncSession, tenant_id: uuid.UUID, episode_id: uuid.UUID, values: dict[str, Any]
) -> EpisodeTranscript | None:
    """Insert the episode's transcript unless it has one; None when it had."""
    statement = (
        _transcript_insert(tenant_id, episode_id, values)
        .on_conflict_do_nothing(index_elements=_TRANSCRIPT_KEY)
        .returning(EpisodeTranscript)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_transcript(
    session: AsyncSession, tenant_id: uuid.UUID, episode_id: uuid.UUID
) -> EpisodeTranscript | None:
    return await session.scalar(
        select(EpisodeTranscript).where(
            EpisodeTranscript.tenant_id == tenant_id, EpisodeTranscript.episode_id == episode_id
        )
    )


async def delete_transcript(session: AsyncSession, tenant_id: uuid.UUID, episode_id: uuid.UUID) -> bool:
    deleted = await session.execute(
        delete(EpisodeTranscript)
        .where(EpisodeTranscript.tenant_id == tenant_id, EpisodeTranscript.episode_id == episode_id)
        .returning(EpisodeTranscript.id)
    )
    return deleted.first() is not None


async def transcript_heads(
    session: AsyncSession, tenant_id: uuid.UUID, episode_ids: Sequence[uuid.UUID], chars: int
) -> list[tuple[uuid.UUID, int, str]]:
    """(episode id, words, the text's first `chars` characters) of those episodes that have a transcript."""
    if not episode_ids:
        return []
    rows = await session.execute(
        select(EpisodeTranscript.episode_id, EpisodeTranscript.words, func.left(EpisodeTranscript.text, chars)).where(
            EpisodeTranscript.tenant_id == tenant_id, EpisodeTranscript.episode_id.in_(episode_ids)
        )
    )
    return [(episode_id, int(words), str(head)) for episode_id, words, head in rows]


async def transcripts_to_fetch(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID | None, limit: int | None
) -> list[tuple[uuid.UUID, str, str, str]]:
    """Live episodes whose feed names a transcript they do not have yet, newest first: (episode id, episode title,
    show title, transcript URL)."""
    stored = select(EpisodeTranscript.id).where(
        EpisodeTranscript.tenant_id == Episode.tenant_id, EpisodeTranscript.episode_id == Episode.id
    )
    query = (
        select(Episode.id, Episode.title, Podcast.title, Episode.transcript_url)
        .join(Podcast, (Podcast.tenant_id == Episode.tenant_id) & (Podcast.id == Episode.podcast_id))
        .where(
            Episode.tenant_id == tenant_id,
            Episode.transcript_url.is_not(None),
            Episode.deleted_at.is_(None),
            Podcast.deleted_at.is_(None),
            ~stored.exists(),
        )
        .order_by(Episode.publish_date.desc().nulls_last(), Episode.id)
        .limit(limit)
    )
    if podcast_id is not None:
        query = query.where(Episode.podcast_id == podcast_id)
    rows = await session.execute(query)
    return [(episode_id, title, show, str(url)) for episode_id, title, show, url in rows]
