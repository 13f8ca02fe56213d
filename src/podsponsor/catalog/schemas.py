from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

# The default of a patch field that cannot be emptied: typed Any so the field's type can stay without None.
KEEP: Any = None
BIGINT_MAX = 2**63 - 1  # enclosure sizes are stored as BIGINT: a larger number is the caller's mistake (422), not a 500


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PodcastIn(Strict):
    title: str = Field(min_length=1, max_length=500)
    feed_url: AnyHttpUrl | None = None
    description: str = Field("", max_length=20000)
    author: str = Field("", max_length=500)
    language: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    explicit: bool = False
    categories: list[str] = Field(default_factory=list, max_length=20)
    image_url: AnyHttpUrl | None = None
    website_url: AnyHttpUrl | None = None
    audience_profile: dict[str, Any] = Field(default_factory=dict)


class PodcastPatch(Strict):
    """Fields left out keep their value. A field typed without `None` cannot be emptied, so null is refused."""

    title: str = Field(KEEP, min_length=1, max_length=500)
    feed_url: AnyHttpUrl | None = None
    description: str = Field(KEEP, max_length=20000)
    author: str = Field(KEEP, max_length=500)
    language: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    explicit: bool = Field(KEEP)
    categories: list[str] = Field(KEEP, max_length=20)
    image_url: AnyHttpUrl | None = None
    website_url: AnyHttpUrl | None = None
    audience_profile: dict[str, Any] = Field(KEEP)
    refresh_interval_minutes: int = Field(KEEP, ge=5, le=10080, description="how often the feed is fetched")


class PodcastOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    feed_url: str | None
    description: str
    author: str
    language: str | None
    explicit: bool
    categories: list[str]
    image_url: str | None
    website_url: str | None
    audience_profile: dict[str, Any]
    podcast_guid: uuid.UUID | None
    owner_name: str | None
    itunes_type: str | None
    feed_extras: dict[str, Any]
    refresh_interval_minutes: int
    next_refresh_at: datetime | None
    ingest_status: str = Field(description="never, ok or failed")
    last_ingested_at: datetime | None = Field(description="the last successful fetch")
    last_ingest_attempt_at: datetime | None
    last_ingest_error: str | None
    ingest_report: dict[str, Any] = Field(description="counts and warnings of the last successful fetch")
    prefix_token: str = Field(
        description="the show's measurement prefix: put `https://<this service>/p/<prefix_token>/` in front of each "
        "enclosure URL (without its `https://`)"
    )
    created_at: datetime
    updated_at: datetime


class FeedImportIn(Strict):
    feed_url: AnyHttpUrl = Field(description="the show's RSS feed address")


class IngestOut(BaseModel):
    podcast_id: uuid.UUID
    created: bool = Field(description="true when this import added the show")
    not_modified: bool = Field(description="the server said the feed had not changed (ETag / Last-Modified)")
    episodes_in_feed: int
    episodes_created: int
    episodes_updated: int
    episodes_unchanged: int
    feed_url: str
    moved_from: str | None = Field(description="the previous address when the feed moved (301/308, new-feed-url)")
    warnings: list[str]


class EpisodeIn(Strict):
    podcast_id: uuid.UUID
    guid: str | None = Field(None, min_length=1, max_length=2000, description="unset: a new UUID")
    title: str = Field(min_length=1, max_length=1000)
    description: str = Field("", max_length=100000)
    enclosure_url: AnyHttpUrl | None = None
    enclosure_bytes: int | None = Field(None, ge=0, le=BIGINT_MAX)
    enclosure_type: str | None = Field(None, max_length=100)
    duration_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    publish_date: datetime | None = None
    season: int | None = Field(None, ge=0, le=100000)
    episode_number: int | None = Field(None, ge=0, le=1000000)
    explicit: bool = False
    transcript_url: AnyHttpUrl | None = None


class EpisodePatch(Strict):
    """Fields left out keep their value. A field typed without `None` cannot be emptied, so null is refused."""

    title: str = Field(KEEP, min_length=1, max_length=1000)
    description: str = Field(KEEP, max_length=100000)
    enclosure_url: AnyHttpUrl | None = None
    enclosure_bytes: int | None = Field(None, ge=0, le=BIGINT_MAX)
    enclosure_type: str | None = Field(None, max_length=100)
    duration_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    publish_date: datetime | None = None
    season: int | None = Field(None, ge=0, le=100000)
    episode_number: int | None = Field(None, ge=0, le=1000000)
    explicit: bool = Field(KEEP)
    transcript_url: AnyHttpUrl | None = None


class EpisodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    podcast_id: uuid.UUID
    guid: str
    title: str
    description: str
    enclosure_url: str | None
    enclosure_bytes: int | None
    enclosure_type: str | None
    duration_seconds: int | None
    publish_date: datetime | None
    season: int | None
    episode_number: int | None
    explicit: bool
    transcript_url: str | None
    summary: str
    link: str | None
    image_url: str | None
    episode_type: str
    guid_source: str
    enclosure_destination_url: str | None = Field(description="the audio itself, measurement prefixes removed")
    enclosure_prefixes: list[str] = Field(description="measurement prefixes the published enclosure passes through")
    chapters_url: str | None
    extras: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TranscriptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    episode_id: uuid.UUID
    format: str = Field(description="what was stored from: vtt, srt or text")
    words: int = Field(description="whitespace-separated tokens with at least one letter or digit")
    text: str = Field(
        description="the spoken text: timings, cue ids and markup removed, paragraphs separated by a blank line"
    )
    updated_at: datetime


def plain(data: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    """Input as column values: URLs become strings."""
    values = data.model_dump(exclude_unset=exclude_unset)
    return {k: str(v) if isinstance(v, AnyHttpUrl) else v for k, v in values.items()}
