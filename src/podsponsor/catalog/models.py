"""Catalog tables: podcasts and episodes. Soft-deleted, because metrics and bookings keep pointing at them."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

# 12 random bytes, URL-safe base64 without padding: 16 characters, 96 bits (the SQL twin takes 6 fully random
# bytes from each of two v4 UUIDs, whose version and variant bits sit outside those bytes).
PREFIX_TOKEN_SQL = (
    "translate(encode(substring(uuid_send(gen_random_uuid()) from 1 for 6) "
    "|| substring(uuid_send(gen_random_uuid()) from 11 for 6), 'base64'), '+/', '-_')"
)


def new_prefix_token() -> str:
    return secrets.token_urlsafe(12)


class Podcast(TenantScoped, Timestamps, Base):
    __tablename__ = "podcasts"
    __table_args__ = (
        Index(
            "uq_podcasts_tenant_feed_url",
            "tenant_id",
            "feed_url",
            unique=True,
            postgresql_where=text("deleted_at IS NULL AND feed_url IS NOT NULL"),
        ),
        Index("ix_podcasts_tenant_title", "tenant_id", "title"),
        Index(
            "ix_podcasts_next_refresh_at",
            "next_refresh_at",
            postgresql_where=text("feed_url IS NOT NULL AND deleted_at IS NULL"),
        ),
        CheckConstraint("ingest_status IN ('never', 'ok', 'failed')", name="ingest_status"),
        CheckConstraint("refresh_interval_minutes BETWEEN 5 AND 10080", name="refresh_interval"),
        # Looked up without a tenant by the prefix redirect (see migration 0006); the token is random, so its
        # uniqueness reveals nothing about any tenant.
        Index("uq_podcasts_prefix_token", "prefix_token", unique=True),
    )

    title: Mapped[str] = mapped_column(String(500))
    feed_url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    author: Mapped[str] = mapped_column(String(500), default="", server_default="")
    language: Mapped[str | None] = mapped_column(String(35))
    explicit: Mapped[bool] = mapped_column(default=False, server_default="false")
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list, server_default="{}")
    image_url: Mapped[str | None] = mapped_column(Text)
    website_url: Mapped[str | None] = mapped_column(Text)
    audience_profile: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # What the feed says beyond the basics (owner, type, Podcasting 2.0 funding/value/persons/locations/...).
    podcast_guid: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    owner_name: Mapped[str | None] = mapped_column(String(500))
    owner_email: Mapped[str | None] = mapped_column(String(320))
    itunes_type: Mapped[str | None] = mapped_column(String(20))
    feed_extras: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    # Ingestion: when to fetch next, what the server said last time, and how the last attempt went.
    refresh_interval_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    next_refresh_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feed_etag: Mapped[str | None] = mapped_column(Text)
    feed_last_modified: Mapped[str | None] = mapped_column(Text)
    ingest_status: Mapped[str] = mapped_column(String(20), default="never", server_default="never")
    last_ingested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ingest_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ingest_error: Mapped[str | None] = mapped_column(Text)
    ingest_report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    # The public handle of the show's prefix redirect: /p/<prefix_token>/<enclosure URL without scheme>.
    prefix_token: Mapped[str] = mapped_column(
        String(32), default=new_prefix_token, server_default=text(PREFIX_TOKEN_SQL)
    )


class Episode(TenantScoped, Timestamps, Base):
    __tablename__ = "episodes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "podcast_id"], ["podcasts.tenant_id", "podcasts.id"]),
        Index(
            "uq_episodes_tenant_podcast_guid",
            "tenant_id",
            "podcast_id",
            "guid",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_episodes_tenant_podcast_published", "tenant_id", "podcast_id", "publish_date"),
    )

    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    guid: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    enclosure_url: Mapped[str | None] = mapped_column(Text)
    enclosure_bytes: Mapped[int | None] = mapped_column(BigInteger)
    enclosure_type: Mapped[str | None] = mapped_column(String(100))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    publish_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    season: Mapped[int | None] = mapped_column(Integer)
    episode_number: Mapped[int | None] = mapped_column(Integer)
    explicit: Mapped[bool] = mapped_column(default=False, server_default="false")
    transcript_url: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    link: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    episode_type: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
    guid_source: Mapped[str] = mapped_column(String(10), default="guid", server_default="guid")
    # The enclosure as published may be wrapped in measurement prefixes; the destination is the audio itself.
    enclosure_destination_url: Mapped[str | None] = mapped_column(Text)
    enclosure_prefixes: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    chapters_url: Mapped[str | None] = mapped_column(Text)
    extras: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class EpisodeTranscript(TenantScoped, Timestamps, Base):
    """An episode's transcript as plain text (cue timings and markup stripped): what topic matching and brand
    safety read when it is there."""

    __tablename__ = "episode_transcripts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "episode_id"], ["episodes.tenant_id", "episodes.id"], ondelete="CASCADE"),
        Index("uq_episode_transcripts_tenant_episode", "tenant_id", "episode_id", unique=True),
        CheckConstraint("format IN ('text', 'vtt', 'srt')", name="format"),
    )

    episode_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    format: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer)
