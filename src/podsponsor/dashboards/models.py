"""The dashboards' rollup: counted downloads per episode, UTC day and source.

Rows are written only by the triggers on `downloads` (migration 0012), in the statement that changes the downloads,
so the rollup is never behind the counting and never needs a refresh. One source per episode and day is chosen when
reading (host logs where they counted, else the prefix), as delivery does.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped


class DownloadDay(TenantScoped, Base):
    __tablename__ = "dashboard_download_days"
    __table_args__ = (
        Index(
            "uq_dashboard_download_days_tenant_episode_day_source",
            "tenant_id",
            "episode_id",
            "day",
            "source_kind",
            unique=True,
        ),
        Index("ix_dashboard_download_days_tenant_day", "tenant_id", "day"),
        Index("ix_dashboard_download_days_tenant_podcast_day", "tenant_id", "podcast_id", "day"),
    )

    # The triggers insert rows in SQL: the key's default is the server's.
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    day: Mapped[date] = mapped_column(Date)
    podcast_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    episode_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source_kind: Mapped[str] = mapped_column(String(10))
    downloads: Mapped[int] = mapped_column(BigInteger)
