"""Outbound webhooks: the endpoints a workspace registers (subscribed to event types, each with its own signing
secret, stored encrypted), one delivery per event and endpoint, and every attempt at it.

A delivery is written in the same transaction as its event, so an event that happened is never without its
deliveries; the worker then sends them at least once, retrying with backoff until they succeed or give up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
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
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps

DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookEndpoint(TenantScoped, Timestamps, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant_active", "tenant_id", "active"),)

    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Event types delivered ("*" = all); an endpoint hears only the types it subscribed to.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list, server_default="{}")
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Consecutive deliveries that gave up; past the limit the endpoint is disabled until someone re-enables it.
    failure_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class WebhookDelivery(TenantScoped, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"], ["webhook_endpoints.tenant_id", "webhook_endpoints.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "event_id"], ["events.tenant_id", "events.id"], ondelete="CASCADE"),
        Index("uq_webhook_deliveries_tenant_endpoint_event", "tenant_id", "endpoint_id", "event_id", unique=True),
        Index("ix_webhook_deliveries_tenant_endpoint_created", "tenant_id", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The `webhook-id` header: the same for every attempt (and a replay), so receivers can deduplicate.
    message_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Someone asked to send a finished delivery again: its next attempt is logged as a replay, and if that one attempt
    # fails the delivery is failed again, without a new round of retries.
    replay_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookAttempt(TenantScoped, Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "delivery_id"], ["webhook_deliveries.tenant_id", "webhook_deliveries.id"], ondelete="CASCADE"
        ),
        Index("ix_webhook_attempts_tenant_delivery", "tenant_id", "delivery_id", "started_at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    number: Mapped[int] = mapped_column(SmallInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(Text)
    replay: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
