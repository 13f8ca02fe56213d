from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


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
    title: str | None = Field(None, min_length=1, max_length=500)
    feed_url: AnyHttpUrl | None = None
    description: str | None = Field(None, max_length=20000)
    author: str | None = Field(None, max_length=500)
    language: str | None = Field(None, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    explicit: bool | None = None
    categories: list[str] | None = Field(None, max_length=20)
    image_url: AnyHttpUrl | None = None
    website_url: AnyHttpUrl | None = None
    audience_profile: dict[str, Any] | None = None


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
    created_at: datetime
    updated_at: datetime


class EpisodeIn(Strict):
    podcast_id: uuid.UUID
    guid: str | None = Field(None, min_length=1, max_length=2000, description="unset: a new UUID")
    title: str = Field(min_length=1, max_length=1000)
    description: str = Field("", max_length=100000)
    enclosure_url: AnyHttpUrl | None = None
    enclosure_bytes: int | None = Field(None, ge=0)
    enclosure_type: str | None = Field(None, max_length=100)
    duration_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    publish_date: datetime | None = None
    season: int | None = Field(None, ge=0, le=100000)
    episode_number: int | None = Field(None, ge=0, le=1000000)
    explicit: bool = False
    transcript_url: AnyHttpUrl | None = None


class EpisodePatch(Strict):
    title: str | None = Field(None, min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=100000)
    enclosure_url: AnyHttpUrl | None = None
    enclosure_bytes: int | None = Field(None, ge=0)
    enclosure_type: str | None = Field(None, max_length=100)
    duration_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    publish_date: datetime | None = None
    season: int | None = Field(None, ge=0, le=100000)
    episode_number: int | None = Field(None, ge=0, le=1000000)
    explicit: bool | None = None
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
    created_at: datetime
    updated_at: datetime


def plain(data: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    """Input as column values: URLs become strings."""
    values = data.model_dump(exclude_unset=exclude_unset)
    return {k: str(v) if isinstance(v, AnyHttpUrl) else v for k, v in values.items()}
