"""What counting writes: one row per counted download, the day's request tallies by reason (raw vs filtered), and
the record of every count run with the window type, settings and reference-list versions it used.

A day's downloads and tallies are replaced as a whole by each run of that day (`run_id` says which), so a re-run
never double counts; the runs themselves are kept, newest last, as the audit trail of how each day was counted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped

RUN_STATUSES = ("running", "completed", "failed")
RUN_TRIGGERS = ("schedule", "api", "cli", "logs", "demo")


class Download(TenantScoped, Base):
    """One IAB download: the first request of a listener's window on an episode, with its dimensions."""

    __tablename__ = "downloads"
    __table_args__ = (
        Index("ix_downloads_tenant_day", "tenant_id", "day"),
        Index("ix_downloads_tenant_podcast_day", "tenant_id", "podcast_id", "day"),
        Index("ix_downloads_tenant_episode_day", "tenant_id", "episode_id", "day"),
        CheckConstraint("source_kind IN ('prefix', 'logs')", name="source_kind"),
        CheckConstraint("window_type IN ('calendar_day', 'first_touch_24h', 'extending_24h')", name="window_type"),
    )

    day: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_type: Mapped[str] = mapped_column(String(20))
    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    episode_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source_kind: Mapped[str] = mapped_column(String(10))
    # Keyed address hash + ':' + a digest of the user agent: distinct values are listeners.
    listener: Mapped[str] = mapped_column(String(100))
    app: Mapped[str | None] = mapped_column(String(200))
    device: Mapped[str | None] = mapped_column(String(200))
    device_category: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(2))
    requests: Mapped[int] = mapped_column(Integer)
    bytes_covered: Mapped[int | None] = mapped_column(BigInteger)
    bytes_required: Mapped[int | None] = mapped_column(BigInteger)
    # The request that opened the window: a prefix hit's uuid or a log line's `<file digest>:<line>`.
    first_request_id: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class DownloadTally(TenantScoped, Base):
    """How many of a day's requests for one episode (or none matched) ended with each reason: the raw side."""

    __tablename__ = "download_tallies"
    __table_args__ = (
        Index("ix_download_tallies_tenant_day", "tenant_id", "day"),
        Index("ix_download_tallies_tenant_podcast_day", "tenant_id", "podcast_id", "day"),
        CheckConstraint("source_kind IN ('prefix', 'logs')", name="source_kind"),
        CheckConstraint("requests >= 0", name="requests"),
    )

    day: Mapped[date] = mapped_column(Date)
    podcast_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    episode_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source_kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(30))
    requests: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class CountRun(TenantScoped, Base):
    """One counting of one UTC day: what it read, what it wrote, and the rules it counted under."""

    __tablename__ = "count_runs"
    __table_args__ = (
        Index("ix_count_runs_tenant_day_started", "tenant_id", "day", "started_at"),
        CheckConstraint("status IN ('running', 'completed', 'failed')", name="status"),
        CheckConstraint("window_type IN ('calendar_day', 'first_touch_24h', 'extending_24h')", name="window_type"),
    )

    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="running", server_default="running")
    trigger: Mapped[str] = mapped_column(String(20))
    window_type: Mapped[str] = mapped_column(String(20))
    # ip_volume_limit, header_bytes: the rest of the tenant's counting settings at the time.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # Reference list kind → version id used; kinds never loaded are listed in `lists_missing`.
    list_versions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    lists_missing: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    requests_read: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    requests_on_day: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    downloads: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
