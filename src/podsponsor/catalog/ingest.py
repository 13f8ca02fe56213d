"""Shows from RSS feeds: fetch (no transaction held), parse (off the event loop), then apply in one transaction.

The caller owns the transaction: `fetch_feed` touches only the network; `import_feed`, `apply_refresh` and
`record_failure` only flush. A feed that moved permanently (301/308) or names an `itunes:new-feed-url` has its
stored address updated; episodes upsert by guid (the parser falls back to the enclosure URL, then to a hash).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor import outbound
from podsponsor.auth.subject import Subject
from podsponsor.catalog import repository
from podsponsor.catalog.feeds import FeedParseError, ParsedEpisode, ParsedFeed, parse_feed
from podsponsor.catalog.models import Podcast
from podsponsor.errors import AppError, NotFound
from podsponsor.events import service as events

MAX_FEED_BYTES = 50 * 1024 * 1024
STORED_WARNINGS = 50


@dataclass(frozen=True)
class FetchedFeed:
    """What the network gave: a parsed feed, or `not_modified` when the server said nothing changed."""

    requested_url: str
    result: outbound.FetchResult
    parsed: ParsedFeed | None

    @property
    def not_modified(self) -> bool:
        return self.result.not_modified


@dataclass(frozen=True)
class IngestReport:
    podcast_id: uuid.UUID
    created: bool
    not_modified: bool
    episodes_in_feed: int
    episodes_created: int
    episodes_updated: int
    episodes_unchanged: int
    feed_url: str
    moved_from: str | None
    warnings: list[str]


async def fetch_feed(url: str, etag: str | None = None, last_modified: str | None = None) -> FetchedFeed:
    """Fetch with the SSRF-safe client (conditional GET when validators are known) and parse off the event loop."""
    result = await outbound.fetch(url, etag=etag, last_modified=last_modified, max_bytes=MAX_FEED_BYTES, label="feed")
    if result.not_modified:
        return FetchedFeed(url, result, None)
    parsed = await asyncio.to_thread(parse_feed, result.content, result.final_url)
    return FetchedFeed(url, result, parsed)


async def import_feed(session: AsyncSession, subject: Subject, fetched: FetchedFeed) -> IngestReport:
    """Create the show for a new feed address, or refresh the show that already has it."""
    assert fetched.parsed is not None, "a first import is never conditional"
    candidates = {fetched.requested_url, fetched.result.final_url, fetched.parsed.new_feed_url or ""} - {""}
    for url in candidates:
        existing = await repository.podcast_by_feed(session, subject.tenant_id, url)
        if existing is not None:
            locked = await repository.podcast_for_update(session, subject.tenant_id, existing.id)
            assert locked is not None
            return await _apply(session, subject, locked, fetched, created=False)
    podcast = Podcast(
        tenant_id=subject.tenant_id, title=fetched.parsed.title or fetched.requested_url, feed_url=fetched.requested_url
    )
    await repository.add(session, podcast)
    await events.record(
        session,
        subject,
        "podcast.created",
        subject_type="podcast",
        subject_id=podcast.id,
        payload={"title": podcast.title, "feed_url": podcast.feed_url},
    )
    return await _apply(session, subject, podcast, fetched, created=True)


async def show_to_refresh(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID) -> Podcast:
    podcast = await repository.get_podcast(session, subject.tenant_id, podcast_id)
    if podcast is None or not podcast.feed_url:
        raise NotFound("no such show with a feed")
    return podcast


async def apply_refresh(
    session: AsyncSession, subject: Subject, podcast_id: uuid.UUID, fetched: FetchedFeed
) -> IngestReport:
    podcast = await repository.podcast_for_update(session, subject.tenant_id, podcast_id)
    if podcast is None:
        raise NotFound("the show was removed while its feed was being fetched")
    return await _apply(session, subject, podcast, fetched, created=False)


async def record_failure(session: AsyncSession, subject: Subject, podcast_id: uuid.UUID, error: AppError) -> None:
    """Keep the error on the show (and try again at the next interval); emit podcast.ingest_failed."""
    podcast = await repository.podcast_for_update(session, subject.tenant_id, podcast_id)
    if podcast is None:
        return
    now = datetime.now(UTC)
    failures = int(podcast.ingest_report.get("consecutive_failures", 0)) + 1
    podcast.ingest_status = "failed"
    podcast.last_ingest_attempt_at = now
    podcast.last_ingest_error = error.detail
    podcast.ingest_report = {**podcast.ingest_report, "consecutive_failures": failures}
    podcast.next_refresh_at = now + _backoff(podcast.refresh_interval_minutes, failures)
    await session.flush()
    await events.record(
        session,
        subject,
        "podcast.ingest_failed",
        subject_type="podcast",
        subject_id=podcast.id,
        payload={"feed_url": podcast.feed_url, "error": error.detail, "failures": failures},
    )


def failure_of(exc: Exception) -> AppError | None:
    """The user-facing reason for a fetch or parse failure; None for anything that is our own bug."""
    if isinstance(exc, outbound.OutboundError | FeedParseError):
        return exc
    return None


async def due_refreshes(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    return await repository.due_feed_refreshes(session, limit)


async def _apply(
    session: AsyncSession, subject: Subject, podcast: Podcast, fetched: FetchedFeed, *, created: bool
) -> IngestReport:
    now = datetime.now(UTC)
    warnings: list[str] = []
    moved_from = await _follow_moves(session, subject, podcast, fetched, warnings)
    podcast.last_ingest_attempt_at = now
    if podcast.feed_url == fetched.result.final_url:
        podcast.feed_etag = fetched.result.etag or (podcast.feed_etag if fetched.not_modified else None)
        podcast.feed_last_modified = fetched.result.last_modified or (
            podcast.feed_last_modified if fetched.not_modified else None
        )
        podcast.next_refresh_at = now + timedelta(minutes=podcast.refresh_interval_minutes)
    else:
        # The show now lives at an address not fetched yet: no validators to send, and fetch it soon.
        podcast.feed_etag = podcast.feed_last_modified = None
        podcast.next_refresh_at = now
    counts = (0, 0)
    in_feed = int(podcast.ingest_report.get("episodes_in_feed", 0))
    if fetched.parsed is not None:
        _update_show(podcast, fetched.parsed)
        warnings += fetched.parsed.warnings
        rows = [_episode_row(e) for e in fetched.parsed.episodes]
        counts = await repository.upsert_episodes(session, subject.tenant_id, podcast.id, rows)
        in_feed = len(rows)
    report = IngestReport(
        podcast_id=podcast.id,
        created=created,
        not_modified=fetched.not_modified,
        episodes_in_feed=in_feed,
        episodes_created=counts[0],
        episodes_updated=counts[1],
        episodes_unchanged=0 if fetched.parsed is None else in_feed - counts[0] - counts[1],
        feed_url=podcast.feed_url or "",
        moved_from=moved_from,
        warnings=warnings[:STORED_WARNINGS],
    )
    podcast.ingest_status = "ok"
    podcast.last_ingested_at = now
    podcast.last_ingest_error = None
    podcast.ingest_report = _stored(report, fetched)
    await session.flush()
    await events.record(
        session,
        subject,
        "podcast.ingested",
        subject_type="podcast",
        subject_id=podcast.id,
        payload={k: v for k, v in podcast.ingest_report.items() if k != "warnings"},
    )
    return report


async def _follow_moves(
    session: AsyncSession, subject: Subject, podcast: Podcast, fetched: FetchedFeed, warnings: list[str]
) -> str | None:
    """A permanent redirect, then an itunes:new-feed-url, replace the stored address (if no other show has it)."""
    target = fetched.result.permanent_url
    if fetched.parsed is not None and fetched.parsed.new_feed_url:
        target = fetched.parsed.new_feed_url
    if not target or target == podcast.feed_url:
        return None
    other = await repository.podcast_by_feed(session, subject.tenant_id, target)
    if other is not None and other.id != podcast.id:
        warnings.append(f"the feed moved to {target}, which another show here already uses; the address is kept")
        return None
    previous, podcast.feed_url = podcast.feed_url, target
    warnings.append(f"the feed moved from {previous} to {target}; the show now follows the new address")
    return previous


def _update_show(podcast: Podcast, feed: ParsedFeed) -> None:
    podcast.title = (feed.title or podcast.title)[:500]
    podcast.description = feed.description_html or podcast.description
    podcast.author = (feed.author or feed.owner_name or podcast.author or "")[:500]
    language = feed.language or podcast.language
    podcast.language = language[:35] if language else None
    if feed.explicit is not None:
        podcast.explicit = feed.explicit
    podcast.categories = [label[:200] for label in feed.category_labels][:20] or podcast.categories
    podcast.image_url = feed.image_url or podcast.image_url
    podcast.website_url = feed.link or podcast.website_url
    podcast.podcast_guid = uuid.UUID(feed.podcast_guid)
    podcast.owner_name = feed.owner_name and feed.owner_name[:500]
    podcast.owner_email = feed.owner_email and feed.owner_email[:320]
    podcast.itunes_type = feed.itunes_type
    podcast.feed_extras = _jsonable(
        {
            "podcast_guid_computed": feed.podcast_guid_computed,
            "locked": feed.locked,
            "locked_owner": feed.locked_owner,
            "funding": feed.funding,
            "value": feed.value,
            "persons": feed.persons,
            "locations": feed.locations,
            "contacts": feed.contacts,
            "license": feed.license,
            "medium": feed.medium,
            "keywords": feed.keywords,
            "generator": feed.generator,
            "summary": feed.summary[:2000],
        }
    )


def _episode_row(episode: ParsedEpisode) -> dict[str, Any]:
    enclosure = episode.enclosure
    return {
        "guid": episode.guid,
        "guid_source": episode.guid_source,
        "title": (episode.title or "Untitled episode")[:1000],
        "description": episode.description_html,
        "summary": episode.summary,
        "link": episode.link,
        "image_url": episode.image_url,
        "enclosure_url": enclosure.url if enclosure else None,
        "enclosure_destination_url": enclosure.destination_url if enclosure else None,
        "enclosure_prefixes": list(enclosure.prefixes) if enclosure else [],
        "enclosure_bytes": enclosure.length if enclosure else None,
        "enclosure_type": enclosure.type[:100] if enclosure and enclosure.type else None,
        "duration_seconds": episode.duration_seconds,
        "publish_date": episode.published,
        "season": episode.season,
        "episode_number": episode.episode_number,
        "explicit": bool(episode.explicit),
        "episode_type": episode.episode_type,
        "transcript_url": episode.transcripts[0].url if episode.transcripts else None,
        "chapters_url": episode.chapters.url if episode.chapters else None,
        "extras": _jsonable(
            {
                "alternate_enclosures": episode.alternate_enclosures,
                "transcripts": episode.transcripts,
                "persons": episode.persons,
                "locations": episode.locations,
                "soundbites": episode.soundbites,
                "value": episode.value,
            }
        ),
    }


def _stored(report: IngestReport, fetched: FetchedFeed) -> dict[str, Any]:
    return {
        "episodes_in_feed": report.episodes_in_feed,
        "episodes_created": report.episodes_created,
        "episodes_updated": report.episodes_updated,
        "episodes_unchanged": report.episodes_unchanged,
        "not_modified": report.not_modified,
        "recovered": bool(fetched.parsed and fetched.parsed.recovered),
        "moved_from": report.moved_from,
        "warnings": report.warnings,
        "consecutive_failures": 0,
    }


def _jsonable(value: Any) -> Any:
    """Frozen dataclasses and tuples → plain JSON values, dropping empty entries."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v not in (None, (), [], {}, "")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _backoff(interval_minutes: int, failures: int) -> timedelta:
    """Failing feeds are retried at the show's interval, doubling per failure up to a day."""
    return timedelta(minutes=min(interval_minutes * 2 ** min(failures - 1, 10), 24 * 60))
