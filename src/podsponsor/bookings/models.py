"""Bookings tables: a show's ad units (its rate card), insertion orders and the episode slots they hold, the
makegoods of under-delivered orders, and clicks on vanity URLs.

Money is integer cents; impressions are whole downloads. An IO's slots (`io_placements`) are unique per ad unit and
episode, which is the "one IO per episode slot" rule held by the database as well as the service.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

POSITIONS = ("pre", "mid", "post")
LENGTHS = (15, 30, 60, 90)
READ_TYPES = ("host_read", "announcer", "produced")
INSERTIONS = ("baked_in", "dynamic")
PRICING_MODELS = ("cpm", "flat", "cpa", "hybrid")
PACING_MODES = ("even", "asap", "front_loaded")
IO_STATUSES = ("scheduled", "active", "completed", "makegood", "cancelled")
SETTLEMENTS = ("bonus_episode", "extended_flight", "credit")


def _in(column: str, values: tuple[object, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AdUnit(TenantScoped, Timestamps, Base):
    """A spot a show sells: where it runs, how long, who reads it, how it is inserted, and its rate-card price."""

    __tablename__ = "ad_units"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "podcast_id"], ["podcasts.tenant_id", "podcasts.id"]),
        Index("ix_ad_units_tenant_podcast", "tenant_id", "podcast_id"),
        CheckConstraint(_in("position", POSITIONS), name="position"),
        CheckConstraint(_in("length_seconds", LENGTHS), name="length_seconds"),
        CheckConstraint(_in("read_type", READ_TYPES), name="read_type"),
        CheckConstraint(_in("insertion", INSERTIONS), name="insertion"),
        CheckConstraint("rate_cpm_cents >= 0", name="rate_cpm_cents"),
        CheckConstraint("flat_rate_cents IS NULL OR flat_rate_cents >= 0", name="flat_rate_cents"),
    )

    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(10))
    length_seconds: Mapped[int] = mapped_column(SmallInteger)
    read_type: Mapped[str] = mapped_column(String(20))
    insertion: Mapped[str] = mapped_column(String(20))
    rate_cpm_cents: Mapped[int] = mapped_column(Integer)
    flat_rate_cents: Mapped[int | None] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InsertionOrder(TenantScoped, Timestamps, Base):
    __tablename__ = "insertion_orders"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "campaign_id"], ["campaigns.tenant_id", "campaigns.id"]),
        ForeignKeyConstraint(["tenant_id", "sponsor_id"], ["sponsors.tenant_id", "sponsors.id"]),
        ForeignKeyConstraint(["tenant_id", "podcast_id"], ["podcasts.tenant_id", "podcasts.id"]),
        ForeignKeyConstraint(["tenant_id", "ad_unit_id"], ["ad_units.tenant_id", "ad_units.id"]),
        Index("uq_insertion_orders_tenant_number", "tenant_id", "number", unique=True),
        # Promo codes and vanity slugs are compared ignoring case; a cancelled order frees neither.
        Index(
            "uq_insertion_orders_tenant_promo_code",
            "tenant_id",
            func.lower(text("promo_code")),
            unique=True,
            postgresql_where=text("promo_code IS NOT NULL AND status <> 'cancelled'"),
        ),
        Index(
            "uq_insertion_orders_tenant_vanity_slug",
            "tenant_id",
            func.lower(text("vanity_slug")),
            unique=True,
            postgresql_where=text("vanity_slug IS NOT NULL AND status <> 'cancelled'"),
        ),
        # The vanity redirect's lookup, which knows no workspace yet (see bookings_io_for_vanity).
        Index(
            "ix_insertion_orders_vanity_slug",
            func.lower(text("vanity_slug")),
            postgresql_where=text("vanity_slug IS NOT NULL"),
        ),
        Index("ix_insertion_orders_tenant_campaign", "tenant_id", "campaign_id"),
        Index("ix_insertion_orders_tenant_sponsor", "tenant_id", "sponsor_id"),
        Index("ix_insertion_orders_tenant_flight", "tenant_id", "flight_start", "flight_end"),
        CheckConstraint("flight_end >= flight_start", name="flight_order"),
        CheckConstraint("impression_goal > 0", name="impression_goal"),
        CheckConstraint(_in("pricing_model", PRICING_MODELS), name="pricing_model"),
        CheckConstraint(_in("pacing_mode", PACING_MODES), name="pacing_mode"),
        CheckConstraint(_in("status", IO_STATUSES), name="status"),
        CheckConstraint(
            "coalesce(cpm_cents, 0) >= 0 AND coalesce(flat_cents, 0) >= 0 AND coalesce(cpa_cents, 0) >= 0 "
            "AND coalesce(max_spend_cents, 0) >= 0",
            name="prices",
        ),
    )

    # A human reference, e.g. IO-2026-0042, unique in the workspace.
    number: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sponsor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    agency_name: Mapped[str | None] = mapped_column(String(300))
    agency_contact: Mapped[str | None] = mapped_column(String(320))
    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ad_unit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    flight_start: Mapped[date] = mapped_column(Date)
    flight_end: Mapped[date] = mapped_column(Date)
    impression_goal: Mapped[int] = mapped_column(BigInteger)
    pricing_model: Mapped[str] = mapped_column(String(10))
    cpm_cents: Mapped[int | None] = mapped_column(Integer)
    flat_cents: Mapped[int | None] = mapped_column(BigInteger)  # per episode
    cpa_cents: Mapped[int | None] = mapped_column(Integer)
    max_spend_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    pacing_mode: Mapped[str] = mapped_column(String(20), default="even", server_default="even")
    talking_points: Mapped[str] = mapped_column(Text, default="", server_default="")
    promo_code: Mapped[str | None] = mapped_column(String(40))
    vanity_slug: Mapped[str | None] = mapped_column(String(60))
    landing_url: Mapped[str | None] = mapped_column(Text)
    # Competitive exclusivity asked for by the sponsor (no competitor in the same episode), and the waiver that lets
    # this order share an episode with a competitor.
    exclusivity: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    separation_waived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    makegood_terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(20), default="scheduled", server_default="scheduled")
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_impressions: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    delivery_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")


class IoPlacement(TenantScoped, Base):
    """An episode slot an IO holds: one ad unit in one episode."""

    __tablename__ = "io_placements"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "io_id"], ["insertion_orders.tenant_id", "insertion_orders.id"]),
        ForeignKeyConstraint(["tenant_id", "ad_unit_id"], ["ad_units.tenant_id", "ad_units.id"]),
        ForeignKeyConstraint(["tenant_id", "episode_id"], ["episodes.tenant_id", "episodes.id"]),
        Index("ix_io_placements_tenant_io", "tenant_id", "io_id"),
        # One IO per episode slot; a cancelled order releases its slots by deleting them.
        Index("uq_io_placements_tenant_slot", "tenant_id", "ad_unit_id", "episode_id", unique=True),
        Index("ix_io_placements_tenant_episode", "tenant_id", "episode_id"),
    )

    io_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ad_unit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    episode_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The sponsor's industry when booked: competitive separation compares these within an episode.
    industry: Mapped[str] = mapped_column(String(100))
    bonus: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Makegood(TenantScoped, Timestamps, Base):
    """An IO that ended under goal: the shortfall, and how it was made good."""

    __tablename__ = "makegoods"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "io_id"], ["insertion_orders.tenant_id", "insertion_orders.id"]),
        ForeignKeyConstraint(["tenant_id", "bonus_episode_id"], ["episodes.tenant_id", "episodes.id"]),
        Index("ix_makegoods_tenant_io", "tenant_id", "io_id"),
        CheckConstraint("shortfall_impressions > 0", name="shortfall"),
        CheckConstraint("settlement IS NULL OR " + _in("settlement", SETTLEMENTS), name="settlement"),
        CheckConstraint("credit_cents IS NULL OR credit_cents >= 0", name="credit_cents"),
    )

    io_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    goal: Mapped[int] = mapped_column(BigInteger)
    delivered: Mapped[int] = mapped_column(BigInteger)
    shortfall_impressions: Mapped[int] = mapped_column(BigInteger)
    shortfall_cents: Mapped[int | None] = mapped_column(BigInteger)
    settlement: Mapped[str | None] = mapped_column(String(20))
    bonus_episode_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    extended_to: Mapped[date | None] = mapped_column(Date)
    credit_cents: Mapped[int | None] = mapped_column(BigInteger)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class VanityClick(TenantScoped, Base):
    """A visit to an IO's vanity URL: a touchpoint for attribution. The address is a keyed hash, never kept."""

    __tablename__ = "vanity_clicks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "io_id"], ["insertion_orders.tenant_id", "insertion_orders.id"]),
        Index("ix_vanity_clicks_tenant_io_ts", "tenant_id", "io_id", "ts"),
    )

    io_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip_hash: Mapped[str] = mapped_column(String(64))
    ua_hash: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    referer: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
