"""The prefix redirect's raw hits: one row per request, partitioned by UTC day, never edited by the app.

The table is partitioned (PARTITION BY RANGE (ts), one partition per day), which SQLAlchemy cannot create: the
migration creates it and `measurement_ensure_hit_partitions` adds days. The primary key carries `ts` because
PostgreSQL requires the partition key in every unique key of a partitioned table; ordered (tenant_id, ts, id) it is
also the index counting reads a tenant's hits by time with, and new rows land at its right edge instead of at
random uuid positions, so one index serves both and inserts stay cheap.

No foreign key to podcasts: shows are only soft-deleted (a tenant's deletion cascades through `tenant_id`), and an
insert that can fail on a foreign key would turn a hit into a lost hit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, PrimaryKeyConstraint, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped

PARTITION_PREFIX = "download_requests_p"


class DownloadRequest(TenantScoped, Base):
    __tablename__ = "download_requests"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "ts", "id"),
        CheckConstraint("method IN ('GET', 'HEAD')", name="method"),
        {"postgresql_partition_by": "RANGE (ts)"},
    )

    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    # Where we sent the client: the enclosure as the host serves it. Counting matches it to an episode.
    destination: Mapped[str] = mapped_column(Text)
    range_header: Mapped[str | None] = mapped_column(String(200))
    user_agent: Mapped[str | None] = mapped_column(Text)
    referer: Mapped[str | None] = mapped_column(Text)
    # Keyed hash of the client address (IPv6 cut to its /64 first); the raw address is never stored, so what
    # counting needs from it is worked out when the request arrives: the registry country and the hosting provider
    # whose data-centre range holds it (none when it is in no listed range).
    ip_hash: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    datacenter: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int] = mapped_column(SmallInteger)


@dataclass(slots=True)
class Hit:
    """One request as the redirect saw it, before it is stored. `tenant_id`/`podcast_id` are None when the show
    could not be looked up (the database was away): storing resolves `token` then."""

    id: uuid.UUID
    ts: datetime
    token: str
    tenant_id: uuid.UUID | None
    podcast_id: uuid.UUID | None
    method: str
    url: str
    destination: str
    range_header: str | None
    user_agent: str | None
    referer: str | None
    ip_hash: str
    country: str | None
    datacenter: str | None
    status: int
