"""Metrics tables: one row per tenant, day, episode and source; and the record of every CSV import."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

IMPORT_STATUSES = ("pending", "processing", "completed", "failed")
IMPORT_FORMATS = ("canonical", "spotify", "megaphone", "youtube", "apple", "generic")


class MetricDaily(TenantScoped, Timestamps, Base):
    """A day of one episode's numbers as one source reports them. A metric left empty by the source is NULL."""

    __tablename__ = "metrics_daily"
    __table_args__ = (
        # The show is the episode's (set on import, and an episode never changes show), so the episode's key is
        # the one checked: a second foreign key would cost every imported row another lookup and lock.
        ForeignKeyConstraint(["tenant_id", "episode_id"], ["episodes.tenant_id", "episodes.id"]),
        # The upsert key; its column order also serves an episode's day range.
        UniqueConstraint("tenant_id", "episode_id", "day", "source", name="uq_metrics_daily_key"),
        Index("ix_metrics_daily_tenant_podcast_day", "tenant_id", "podcast_id", "day"),
        CheckConstraint("downloads >= 0", name="downloads"),
        CheckConstraint("listeners >= 0", name="listeners"),
        CheckConstraint("conversions >= 0", name="conversions"),
        CheckConstraint("revenue_cents >= 0", name="revenue_cents"),
        CheckConstraint("completion_rate BETWEEN 0 AND 1", name="completion_rate"),
        CheckConstraint("ctr BETWEEN 0 AND 1", name="ctr"),
    )

    day: Mapped[date] = mapped_column(Date)
    episode_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The episode's show, kept on the row so a show's days are read from one index.
    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str] = mapped_column(String(100))
    downloads: Mapped[int | None] = mapped_column(BigInteger)
    listeners: Mapped[int | None] = mapped_column(BigInteger)
    completion_rate: Mapped[float | None] = mapped_column(Float)
    ctr: Mapped[float | None] = mapped_column(Float)
    conversions: Mapped[int | None] = mapped_column(BigInteger)
    revenue_cents: Mapped[int | None] = mapped_column(BigInteger)
    # The import that last wrote the row (provenance; imports are records, not owners of the rows).
    import_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class EtlImport(TenantScoped, Timestamps, Base):
    __tablename__ = "etl_imports"
    __table_args__ = (
        Index("ix_etl_imports_tenant_created", "tenant_id", "created_at"),
        # One completed import per file content: the re-import check, and a backstop against two racing ones.
        Index(
            "uq_etl_imports_tenant_sha256_completed",
            "tenant_id",
            "sha256",
            unique=True,
            postgresql_where=text("status = 'completed' AND duplicate_of IS NULL"),
        ),
        CheckConstraint(f"status IN {IMPORT_STATUSES}", name="status"),
        CheckConstraint(f"format IN {IMPORT_FORMATS}", name="format"),
        CheckConstraint("origin IN ('upload', 'url', 'cli')", name="origin"),
        CheckConstraint("progress BETWEEN 0 AND 1", name="progress"),
    )

    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    origin: Mapped[str] = mapped_column(String(10), default="upload", server_default="upload")
    source_url: Mapped[str | None] = mapped_column(Text)
    preset: Mapped[str | None] = mapped_column(String(20))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    format: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    rows_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_processed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_imported: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_sync_watermark: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
