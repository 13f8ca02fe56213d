"""Sales tables: sponsors (advertisers) and campaigns, which are the deals of the pipeline."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
BRAND_SAFETY = ("strict", "moderate", "permissive")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Sponsor(TenantScoped, Timestamps, Base):
    __tablename__ = "sponsors"
    __table_args__ = (
        CheckConstraint(_in("brand_safety", BRAND_SAFETY), name="brand_safety"),
        CheckConstraint("attribution_lookback_days BETWEEN 1 AND 60", name="attribution_lookback_days"),
        Index(
            "uq_sponsors_tenant_name",
            "tenant_id",
            func.lower(text("name")),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(300))
    industry: Mapped[str] = mapped_column(String(100))
    website_url: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    target_geo: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list, server_default="{}")
    target_demo: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    target_topics: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    brand_safety: Mapped[str] = mapped_column(String(20), default="moderate", server_default="moderate")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # How long after a podcast exposure a conversion may still be credited to it (1-60 days).
    attribution_lookback_days: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Campaign(TenantScoped, Timestamps, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["sponsors.tenant_id", "sponsors.id"]),
        ForeignKeyConstraint(["tenant_id", "seller_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint("value_cents >= 0", name="value_not_negative"),
        CheckConstraint("probability IS NULL OR (probability >= 0 AND probability <= 1)", name="probability"),
        Index("ix_campaigns_tenant_sponsor", "tenant_id", "sponsor_id"),
        Index("ix_campaigns_tenant_stage", "tenant_id", "stage"),
    )

    sponsor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    seller_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(20), default="lead", server_default="lead")
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    value_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    probability: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    expected_close: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DealStageChange(TenantScoped, Base):
    """One move of a deal between stages: who, when, from, to. A deal's creation is its first row (from NULL)."""

    __tablename__ = "deal_stage_changes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
        Index("ix_deal_stage_changes_tenant_campaign_at", "tenant_id", "campaign_id", "changed_at"),
        Index("ix_deal_stage_changes_tenant_to_at", "tenant_id", "to_stage", "changed_at"),
        CheckConstraint("from_stage IS NULL OR " + _in("from_stage", STAGES), name="from_stage"),
        CheckConstraint(_in("to_stage", STAGES), name="to_stage"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
