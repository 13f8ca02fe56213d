"""Idempotency keys: a create sent again with the same `Idempotency-Key` answers what the first one answered.

The record is written in the same transaction as what it created, so either both exist or neither: a client whose
connection dropped after COMMIT retries and gets the stored answer, and one whose request rolled back retries and
creates it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped


class IdempotencyRecord(TenantScoped, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_tenant_scope_key", "tenant_id", "scope", "key", unique=True),
        Index("ix_idempotency_keys_created", "tenant_id", "created_at"),
    )

    # What the key was used for, e.g. "POST /api/v1/io": one key may not be reused for another operation.
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    # Of the request body: the same key with a different body is a client error, not a replay.
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    resource_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
