"""Reference lists (global, versioned) and the per-tenant review queue of user agents no list recognises.

The reference lists are public data shared by every workspace (OPAWG patterns, podcast prefixes, ipcat ranges), so
they carry no tenant and no row-level security; nothing a tenant owns is ever written to them. A version's entries
never change after it is loaded (the runtime role may insert them but not update or delete them), so a count that
records a version id can always be explained with exactly the lists it used.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from podsponsor.db.base import Base, TenantScoped

LIST_KINDS = ("bots", "apps", "libraries", "browsers", "devices", "referrers", "prefixes", "datacenters")
LABELS = ("bot", "app", "browser", "library", "ignore")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class ReferenceListVersion(Base):
    __tablename__ = "reference_list_versions"
    __table_args__ = (
        Index("uq_reference_list_versions_kind_sha256", "kind", "sha256", unique=True),
        # At most one active version per kind: the one the classifier uses.
        Index("uq_reference_list_versions_active_kind", "kind", unique=True, postgresql_where=text("active")),
        CheckConstraint(_one_of("kind", LIST_KINDS), name="kind"),
        CheckConstraint("entry_count >= 0", name="entry_count"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    active: Mapped[bool] = mapped_column(default=True, server_default="true")


class ReferenceListEntry(Base):
    """One entry in list order: a pattern (user agents, referers, prefixes) or an IPv4 range (data centres)."""

    __tablename__ = "reference_list_entries"

    version_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("reference_list_versions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    pattern: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40))
    range_start: Mapped[int | None] = mapped_column(BigInteger)
    range_end: Mapped[int | None] = mapped_column(BigInteger)
    # The entry's other fields as published (examples, description, urls, flags), kept for audit and tests.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class UnknownUserAgent(TenantScoped, Base):
    """A user agent of this tenant's traffic that no list recognised, with how often it was seen, until ops label it."""

    __tablename__ = "unknown_user_agents"
    __table_args__ = (
        Index("uq_unknown_user_agents_tenant_user_agent", "tenant_id", "user_agent", unique=True),
        Index("ix_unknown_user_agents_tenant_hits", "tenant_id", "hits"),
        CheckConstraint(f"label IS NULL OR {_one_of('label', LABELS)}", name="label"),
        CheckConstraint("hits >= 0", name="hits"),
        CheckConstraint("(label IS NULL) = (labelled_at IS NULL)", name="labelled_when"),
    )

    user_agent: Mapped[str] = mapped_column(String(512))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    hits: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    label: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(200))
    labelled_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    labelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
