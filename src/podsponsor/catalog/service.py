"""Catalog rules: shows and episodes, their uniqueness, and the events their changes emit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.catalog import repository
from podsponsor.catalog.exceptions import DuplicateGuid, FeedAlreadyAdded
from podsponsor.catalog.feeds import sanitize_html
from podsponsor.catalog.models import Episode, EpisodeTranscript, Podcast
from podsponsor.catalog.schemas import EpisodeIn, EpisodePatch, PodcastIn, PodcastPatch, plain
from podsponsor.catalog.transcripts import ParsedTranscript
from podsponsor.errors import NotFound
from podsponsor.events import service as events
from podsponsor.listing import Window

PODCAST_SORTS = ("title", "created_at", "updated_at")
EPISODE_SORTS = ("publish_date", "title", "created_at", "episode_number")
TRANSCRIPT_PREVIEW = 300  # characters of a transcript shown beside its episode


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


@dataclass(frozen=True)
class TranscriptSource:
    """An episode whose feed names a transcript it does not have yet."""

    episode_id: uuid.UUID
    title: str
    show_title: str
    url: str


@dataclass(frozen=True)
class TranscriptHead:
    words: int
    preview: str  # the first TRANSCRIPT_PREVIEW characters or so, cut at a word


async def store_transcript(
    session: AsyncSession, subject: Subject, episode_id: uuid.UUID, parsed: ParsedTranscript
) -> tuple[EpisodeTranscript, bool]:
    """Store the episode's transcript, replacing the one it has; (transcript, created). Emits
    episode.transcript_stored."""
    episode = await get_episode(session, subject, episode_id)
    transcript, created = await repository.upsert_transcript(
        session, subject.tenant_id, episode.id, _transcript_values(parsed)
    )
    await _transcript_stored(session, subject, transcript, source="upload", created=created)
    return transcript, created


async def add_fetched_transcript(
    session: AsyncSession, subject: Subject, episode_id: uuid.UUID, parsed: ParsedTranscript
) -> EpisodeTranscript | None:
    """Store a transcript fetched from the feed's address unless the episode got one meanwhile (one a person sent
    wins); None when it had one."""
    episode = await get_episode(session, subject, episode_id)
    transcript = await repository.add_transcript_if_missing(
        session, subject.tenant_id, episode.id, _transcript_values(parsed)
    )
    if transcript is not None:
        await _transcript_stored(session, subject, transcript, source="feed", created=True)
    return transcript


def _transcript_values(parsed: ParsedTranscript) -> dict[str, Any]:
    return {"format": parsed.format, "text": parsed.text, "words": parsed.words}


async def _transcript_stored(
    session: AsyncSession, subject: Subject, transcript: EpisodeTranscript, *, source: str, created: bool
) -> None:
    await events.record(
        session,
        subject,
        "episode.transcript_stored",
        subject_type="episode",
        subject_id=transcript.episode_id,
        payload={"format": transcript.format, "words": transcript.words, "source": source, "created": created},
    )


async def get_transcript(session: AsyncSession, subject: Subject, episode_id: uuid.UUID) -> EpisodeTranscript:
    episode = await get_episode(session, subject, episode_id)
    transcript = await repository.get_transcript(session, subject.tenant_id, episode.id)
    if transcript is None:
        raise NotFound("this episode has no transcript")
    return transcript


async def delete_transcript(session: AsyncSession, subject: Subject, episode_id: uuid.UUID) -> None:
    episode = await get_episode(session, subject, episode_id)
    if not await repository.delete_transcript(session, subject.tenant_id, episode.id):
        raise NotFound("this episode has no transcript")
    await events.record(session, subject, "episode.transcript_deleted", subject_type="episode", subject_id=episode.id)


async def transcript_heads(
    session: AsyncSession, subject: Subject, episode_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TranscriptHead]:
    """Word count and opening text of the transcripts of those episodes that have one, by episode id."""
    rows = await repository.transcript_heads(session, subject.tenant_id, episode_ids, TRANSCRIPT_PREVIEW + 1)
    return {episode_id: TranscriptHead(words, _preview(head)) for episode_id, words, head in rows}


def _preview(head: str) -> str:
    if len(head) <= TRANSCRIPT_PREVIEW:
        return head
    cut = head[:TRANSCRIPT_PREVIEW]
    return (cut.rsplit(None, 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"


async def transcripts_to_fetch(
    session: AsyncSession, subject: Subject, podcast_id: uuid.UUID | None, limit: int | None
) -> list[TranscriptSource]:
    """Episodes (of one show, or all) whose feed names a transcript not stored yet, newest first."""
    if podcast_id is not None:
        await get_podcast(session, subject, podcast_id)
    rows = await repository.transcripts_to_fetch(session, subject.tenant_id, podcast_id, limit)
    return [TranscriptSource(*row) for row in rows]
