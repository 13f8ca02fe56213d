"""Host and CDN log requests kept for counting, and the record of each log file imported.

A request's `line_id` is `<first 16 hex of the file's SHA-256>:<line number>`, unique per tenant: importing the same
file twice stores nothing new, and two files that share a name never collide. Like prefix hits, these rows are raw
evidence: never edited, counted by the same engine (with the byte threshold, which only logs can apply).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped

LOG_FORMATS = ("cloudfront", "csv", "jsonl")
LOG_IMPORT_STATUSES = ("processing", "completed", "failed")


class LogRequest(TenantScoped, Base):
    __tablename__ = "log_requests"
    __table_args__ = (
        Index("uq_log_requests_tenant_line_id", "tenant_id", "line_id", unique=True),
        Index("ix_log_requests_tenant_ts", "tenant_id", "ts"),
    )

    line_id: Mapped[str] = mapped_column(String(100))
    import_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(16))
    # Host and path (and query) as logged; counting matches it to an episode's enclosure.
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(SmallInteger)
    range_start: Mapped[int | None] = mapped_column(BigInteger)
    range_end: Mapped[int | None] = mapped_column(BigInteger)
    bytes_sent: Mapped[int | None] = mapped_column(BigInteger)
    user_agent: Mapped[str | None] = mapped_column(Text)
    referer: Mapped[str | None] = mapped_column(Text)
    ip_hash: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    datacenter: Mapped[str | None] = mapped_column(Text)


class LogImport(TenantScoped, Base):
    __tablename__ = "log_imports"
    __table_args__ = (
        Index("ix_log_imports_tenant_started", "tenant_id", "started_at"),
        CheckConstraint(f"format IN {LOG_FORMATS}", name="format"),
        CheckConstraint(f"status IN {LOG_IMPORT_STATUSES}", name="status"),
    )

    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="processing", server_default="processing")
    lines_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    requests_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Lines already stored by an earlier import of the same content.
    requests_already_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The first errors, each {line, reason}; all of them count in error_count.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    first_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # UTC days with requests in this file: the days whose counts it changes.
    days: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
