"""Catalog rules: shows and episodes, their uniqueness, and the events their changes emit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.catalog import repository
from podsponsor.catalog.exceptions import DuplicateGuid, FeedAlreadyAdded
from podsponsor.catalog.feeds import sanitize_html
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.catalog.schemas import EpisodeIn, EpisodePatch, PodcastIn, PodcastPatch, plain
from podsponsor.errors import NotFound
from podsponsor.events import service as events
from podsponsor.listing import Window

PODCAST_SORTS = ("title", "created_at", "updated_at")
EPISODE_SORTS = ("publish_date", "title", "created_at", "episode_number")


async def create_podcast(session: AsyncSession, subject: Subject, data: PodcastIn) -> Podcast:
    values = _sanitized(plain(data))
    await _check_feed_free(session, subject, values.get("feed_url"), None)
    podcast = Podcast(tenant_id=subject.tenant_id, **values)
    await repository.add(session, podcast)
    await events.record(
        session,
        subject,
        "podcast.created",
        subject_type="podcast",
        subject_id=podcast.id,
        payload={"title": podcast.title},
    )
    return podcast


async def get_podcast(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID) -> Podcast:
    podcast = await repository.get_podcast(session, subject.tenant_id, podcast_id)
    if podcast is None:
        raise NotFound("no such podcast")
    return podcast


async def update_podcast(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID, data: PodcastPatch) -> Podcast:
    podcast = await get_podcast(session, subject, podcast_id)
    changes = _sanitized(plain(data, exclude_unset=True))
    if "feed_url" in changes:
        await _check_feed_free(session, subject, changes["feed_url"], podcast.id)
    for field, value in changes.items():
        setattr(podcast, field, value)
    await session.flush()
    await events.record(
        session,
        subject,
        "podcast.updated",
        subject_type="podcast",
        subject_id=podcast.id,
        payload={"fields": sorted(changes)},
    )
    return podcast


async def delete_podcast(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID) -> None:
    podcast = await get_podcast(session, subject, podcast_id)
    await repository.soft_delete(session, podcast)
    await repository.soft_delete_episodes_of(session, subject.tenant_id, podcast.id)
    await events.record(session, subject, "podcast.deleted", subject_type="podcast", subject_id=podcast.id)


async def list_podcasts(
    session: AsyncSession, subject: Subject, q: str | None, category: str | None, explicit: bool | None, page: Window
) -> tuple[Sequence[Podcast], int]:
    return await repository.list_podcasts(session, subject.tenant_id, q, category, explicit, page)


async def episode_count(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID) -> int:
    return await repository.count_episodes(session, subject.tenant_id, podcast_id)


async def create_episode(session: AsyncSession, subject: Subject, data: EpisodeIn) -> Episode:
    await get_podcast(session, subject, data.podcast_id)
    values = _sanitized(plain(data))
    values["guid"] = values.get("guid") or str(uuid.uuid4())
    if await repository.episode_by_guid(session, subject.tenant_id, data.podcast_id, values["guid"]):
        raise DuplicateGuid(
            f"this show already has an episode with guid '{values['guid']}'",
            errors=[{"field": "guid", "value": values["guid"], "reason": "taken in this show"}],
        )
    episode = Episode(tenant_id=subject.tenant_id, **values)
    await repository.add(session, episode)
    await events.record(
        session,
        subject,
        "episode.created",
        subject_type="episode",
        subject_id=episode.id,
        payload={"podcast_id": str(episode.podcast_id), "title": episode.title},
    )
    return episode


async def get_episode(session: AsyncSession, subject: Subject, episode_id: uuid.UUID) -> Episode:
    episode = await repository.get_episode(session, subject.tenant_id, episode_id)
    if episode is None:
        raise NotFound("no such episode")
    return episode


async def update_episode(session: AsyncSession, subject: Subject, episode_id: uuid.UUID, data: EpisodePatch) -> Episode:
    episode = await get_episode(session, subject, episode_id)
    changes = _sanitized(plain(data, exclude_unset=True))
    for field, value in changes.items():
        setattr(episode, field, value)
    await session.flush()
    await events.record(
        session,
        subject,
        "episode.updated",
        subject_type="episode",
        subject_id=episode.id,
        payload={"fields": sorted(changes)},
    )
    return episode


async def delete_episode(session: AsyncSession, subject: Subject, episode_id: uuid.UUID) -> None:
    episode = await get_episode(session, subject, episode_id)
    await repository.soft_delete(session, episode)
    await events.record(session, subject, "episode.deleted", subject_type="episode", subject_id=episode.id)


async def list_episodes(
    session: AsyncSession,
    subject: Subject,
    podcast_id: uuid.UUID | None,
    q: str | None,
    published_from: datetime | None,
    published_to: datetime | None,
    page: Window,
) -> tuple[Sequence[Episode], int]:
    if podcast_id is not None:
        await get_podcast(session, subject, podcast_id)
    return await repository.list_episodes(session, subject.tenant_id, podcast_id, q, published_from, published_to, page)


async def _check_feed_free(
    session: AsyncSession, subject: Subject, feed_url: str | None, podcast_id: uuid.UUID | None
) -> None:
    if not feed_url:
        return
    existing = await repository.podcast_by_feed(session, subject.tenant_id, feed_url)
    if existing is not None and existing.id != podcast_id:
        raise FeedAlreadyAdded(
            f"'{existing.title}' already uses this feed",
            errors=[{"field": "feed_url", "value": feed_url, "reason": "already a show here"}],
            podcast_id=str(existing.id),
        )


def _sanitized(values: dict[str, Any]) -> dict[str, Any]:
    """Descriptions are shown as HTML on pages: keep only safe markup, whoever wrote them."""
    if values.get("description"):
        values["description"] = sanitize_html(values["description"])
    return values


async def prefix_usage(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID) -> dict[str, int]:
    """Measurement prefixes the show's episodes are served through, with how many episodes use each."""
    return await repository.prefix_usage(session, subject.tenant_id, podcast_id)


async def episode_keys(
    session: AsyncSession, subject: Subject
) -> list[tuple[uuid.UUID, uuid.UUID, str, str, datetime | None, str]]:
    """Every live episode's identifiers (id, podcast id, guid, title, publish date, show title): what an import of
    metrics matches its rows against."""
    return await repository.episode_keys(session, subject.tenant_id)
