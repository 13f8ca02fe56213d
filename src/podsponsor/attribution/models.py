"""Attribution tables: where conversions come from (sources and their deliveries), the conversions and pixel events
themselves, each campaign's models, and what a recalculation stores (runs, paths, credits) and validates.

Money is integer cents. Addresses and user agents are keyed hashes, never raw. A conversion source's webhook secret is
stored encrypted (the deployment's key), because verifying a signature needs the secret itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

SOURCE_KINDS = ("shopify", "woocommerce", "stripe", "pixel", "api", "csv")
CONVERSION_KINDS = ("purchase", "lead", "signup", "install", "other")
PIXEL_EVENTS = ("view", "lead", "purchase")
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "custom")
MATCH_TYPES = ("promo_code", "vanity", "household")
GROUND_TRUTHS = ("promo_code", "holdout")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ConversionSource(TenantScoped, Timestamps, Base):
    """An advertiser's store or site sending conversions: its endpoint token, its secret, and its health."""

    __tablename__ = "conversion_sources"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["sponsors.tenant_id", "sponsors.id"]),
        # The token is the endpoint's public handle (/hooks/{kind}/{token}, /px?s={token}): 192 random bits, looked
        # up without a workspace through attribution_source_for_token; unique per workspace here.
        Index("uq_conversion_sources_tenant_token", "tenant_id", "token", unique=True),
        Index("ix_conversion_sources_token", "token"),
        Index("ix_conversion_sources_tenant_sponsor", "tenant_id", "sponsor_id"),
        CheckConstraint(_in("kind", SOURCE_KINDS), name="kind"),
    )

    sponsor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(String(64))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    events_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    signature_failures: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_reason: Mapped[str | None] = mapped_column(Text)


class ConversionDelivery(TenantScoped, Base):
    """One platform event received (a webhook delivery): the dedupe key that makes a repeat take effect once."""

    __tablename__ = "conversion_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "source_id"], ["conversion_sources.tenant_id", "conversion_sources.id"], ondelete="CASCADE"
        ),
        Index("uq_conversion_deliveries_tenant_source_event", "tenant_id", "source_id", "event_id", unique=True),
        Index("ix_conversion_deliveries_tenant_received", "tenant_id", "received_at"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The platform's id of the event (X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID, Stripe's evt_…).
    event_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))  # stored | duplicate_order | ignored
    conversion_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Conversion(TenantScoped, Base):
    __tablename__ = "conversions"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "source_id"], ["conversion_sources.tenant_id", "conversion_sources.id"]),
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["sponsors.tenant_id", "sponsors.id"]),
        # One order once, however many events announce it.
        Index(
            "uq_conversions_tenant_source_order",
            "tenant_id",
            "source_id",
            "order_id",
            unique=True,
            postgresql_where=text("order_id IS NOT NULL"),
        ),
        Index("ix_conversions_tenant_sponsor_at", "tenant_id", "sponsor_id", "occurred_at"),
        Index("ix_conversions_tenant_ip_hash", "tenant_id", "ip_hash"),
        CheckConstraint(_in("kind", CONVERSION_KINDS), name="kind"),
        CheckConstraint("value_cents IS NULL OR value_cents >= 0", name="value_cents"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sponsor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20), default="purchase", server_default="purchase")
    order_id: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    # Upper-cased as typed at checkout; matched to IO promo codes ignoring case.
    promo_codes: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default="{}")
    landing_url: Mapped[str | None] = mapped_column(Text)
    utm: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    referrer: Mapped[str | None] = mapped_column(Text)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    ua_hash: Mapped[str | None] = mapped_column(String(64))
    # The device family of the user agent (iOS, Android, macOS, Windows, …): household matching compares it.
    ua_family: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))
    # What the demo knows to be true (promo_code, household, organic); empty for real data.
    ground_truth: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PixelEvent(TenantScoped, Base):
    __tablename__ = "pixel_events"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "source_id"], ["conversion_sources.tenant_id", "conversion_sources.id"]),
        Index("ix_pixel_events_tenant_source_ts", "tenant_id", "source_id", "ts"),
        CheckConstraint(_in("event", PIXEL_EVENTS), name="event"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event: Mapped[str] = mapped_column(String(20))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    order_id: Mapped[str | None] = mapped_column(String(200))
    page_url: Mapped[str | None] = mapped_column(Text)
    referrer: Mapped[str | None] = mapped_column(Text)
    ip_hash: Mapped[str] = mapped_column(String(64))
    ua_hash: Mapped[str] = mapped_column(String(64))
    ua_family: Mapped[str | None] = mapped_column(String(40))
    conversion_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class AttributionModel(TenantScoped, Timestamps, Base):
    """A model a campaign's results are computed with; one of them is the campaign's default."""

    __tablename__ = "attribution_models"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
        Index("uq_attribution_models_tenant_campaign_model", "tenant_id", "campaign_id", "model", unique=True),
        CheckConstraint(_in("model", MODELS), name="model"),
        CheckConstraint("lookback_days BETWEEN 1 AND 60", name="lookback_days"),
        CheckConstraint("half_life_days IS NULL OR half_life_days > 0", name="half_life_days"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    model: Mapped[str] = mapped_column(String(20))
    lookback_days: Mapped[int] = mapped_column(SmallInteger, default=30, server_default="30")
    half_life_days: Mapped[float | None] = mapped_column(Float)
    # Custom weights: {"by": "position", "weights": [..]} or {"by": "io", "weights": {io_id: w}}.
    weights: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class AttributionRun(TenantScoped, Base):
    __tablename__ = "attribution_runs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
        Index("ix_attribution_runs_tenant_campaign_started", "tenant_id", "campaign_id", "started_at"),
        CheckConstraint("status IN ('running', 'completed', 'failed')", name="status"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), default="running", server_default="running")
    trigger: Mapped[str] = mapped_column(String(20))
    # Conversions considered, matched by kind, unusable-IP share, lookback, exposures read, …
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AttributionPath(TenantScoped, Base):
    """A matched conversion's path: how it was matched and the touchpoints credit was spread over."""

    __tablename__ = "attribution_paths"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "conversion_id"], ["conversions.tenant_id", "conversions.id"]),
        Index("ix_attribution_paths_tenant_run", "tenant_id", "run_id"),
        Index("ix_attribution_paths_tenant_conversion", "tenant_id", "conversion_id"),
        CheckConstraint(_in("match_type", MATCH_TYPES), name="match_type"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    conversion_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    match_type: Mapped[str] = mapped_column(String(20))
    household: Mapped[str | None] = mapped_column(String(64))
    # [{"io_id", "episode_id", "at", "kind"}] in time order.
    touchpoints: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")


class AttributionCredit(TenantScoped, Base):
    """One touchpoint's share of one conversion under one model."""

    __tablename__ = "attribution_credits"
    __table_args__ = (
        Index("ix_attribution_credits_tenant_run_model", "tenant_id", "run_id", "model"),
        Index("ix_attribution_credits_tenant_campaign", "tenant_id", "campaign_id"),
        CheckConstraint(_in("model", MODELS), name="model"),
        CheckConstraint(_in("match_type", MATCH_TYPES), name="match_type"),
        CheckConstraint("credit >= 0 AND credit <= 1", name="credit"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    conversion_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    io_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    episode_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    model: Mapped[str] = mapped_column(String(20))
    match_type: Mapped[str] = mapped_column(String(20))
    credit: Mapped[float] = mapped_column(Float)
    household: Mapped[str | None] = mapped_column(String(64))


class AttributionValidation(TenantScoped, Base):
    __tablename__ = "attribution_validations"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
        Index("ix_attribution_validations_tenant_campaign", "tenant_id", "campaign_id", "created_at"),
        CheckConstraint(_in("model", MODELS), name="model"),
        CheckConstraint(_in("ground_truth", GROUND_TRUTHS), name="ground_truth"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    model: Mapped[str] = mapped_column(String(20))
    ground_truth: Mapped[str] = mapped_column(String(20))
    sample_size: Mapped[int] = mapped_column(Integer)
    predicted: Mapped[float] = mapped_column(Float)
    actual: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
