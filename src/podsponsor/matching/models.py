"""Matchmaking tables: each advertiser-show pair's stored score, the advertiser's brief (the flight, positions and
slots it wants to buy, extra keywords and categories it will not appear next to), and recalculation runs.

A match keeps every signal it was scored from (value, weight, inputs) so that the score can be explained and
re-derived later without re-reading the data it came from.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

SCOPES = ("pair", "advertiser", "podcast", "tenant")
RUN_STATUSES = ("queued", "running", "completed", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Match(TenantScoped, Base):
    __tablename__ = "matches"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["sponsors.tenant_id", "sponsors.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "podcast_id"], ["podcasts.tenant_id", "podcasts.id"], ondelete="CASCADE"),
        Index("uq_matches_tenant_sponsor_podcast", "tenant_id", "sponsor_id", "podcast_id", unique=True),
        Index("ix_matches_tenant_sponsor_score", "tenant_id", "sponsor_id", text("score DESC")),
        Index("ix_matches_tenant_podcast_score", "tenant_id", "podcast_id", text("score DESC")),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
    )

    sponsor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    rationale: Mapped[str] = mapped_column(Text)
    # {signal: {"value": 0..1, "weight": w, "inputs": {...}}} for present signals; missing ones under "missing".
    signals: Mapped[dict[str, Any]] = mapped_column(JSONB)
    missing: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list, server_default="{}")
    # A hard conflict (a competitor's exclusive order, a blocked category) capped the score.
    conflict: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MatchBrief(TenantScoped, Timestamps, Base):
    """What an advertiser wants to buy, beyond the targets on its sponsor record."""

    __tablename__ = "match_briefs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["sponsors.tenant_id", "sponsors.id"], ondelete="CASCADE"),
        Index("uq_match_briefs_tenant_sponsor", "tenant_id", "sponsor_id", unique=True),
        CheckConstraint("flight_start IS NULL OR flight_end IS NULL OR flight_start <= flight_end", name="flight"),
        CheckConstraint("slots_needed IS NULL OR slots_needed BETWEEN 1 AND 10000", name="slots_needed"),
    )

    sponsor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    flight_start: Mapped[date | None] = mapped_column(Date)
    flight_end: Mapped[date | None] = mapped_column(Date)
    positions: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list, server_default="{}")
    slots_needed: Mapped[int | None] = mapped_column(Integer)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    blocked_categories: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list, server_default="{}")


class MatchRun(TenantScoped, Base):
    """One recalculation: its scope, progress while it runs, and what it stored."""

    __tablename__ = "match_runs"
    __table_args__ = (
        Index("ix_match_runs_tenant_started", "tenant_id", "started_at"),
        CheckConstraint(_in("scope", SCOPES), name="scope"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    )

    scope: Mapped[str] = mapped_column(String(20))
    sponsor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    podcast_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), default="queued", server_default="queued")
    pairs_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pairs_scored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pairs_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    job_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
