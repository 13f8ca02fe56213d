from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped, Timestamps


class FeatureFlag(TenantScoped, Timestamps, Base):
    __tablename__ = "feature_flags"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(80))
    enabled: Mapped[bool] = mapped_column()
