"""Every query of ad units and insertion orders. `only_sponsor` narrows IO queries to one sponsor (advertiser users).

Live orders are those not cancelled: a cancelled order holds no slot, promo code or vanity slug.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, cast, column, delete, func, select, table, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
from sqlalchemy.types import DateTime, Text

from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement
from podsponsor.bookings.schemas import IoQuery
from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window

# Episodes belong to the catalog; bookings only lock and read the columns its rules need. The lock must be taken in
# this transaction on these rows, which no catalog service offers, so it is expressed here on a table stub.
_episodes = table(
    "episodes",
    column("tenant_id", UUID(as_uuid=True)),
    column("id", UUID(as_uuid=True)),
    column("podcast_id", UUID(as_uuid=True)),
    column("title", Text()),
    column("publish_date", DateTime(timezone=True)),
    column("deleted_at", DateTime(timezone=True)),
)
FINISHED = ("completed", "cancelled")


@dataclass(frozen=True)
class EpisodeRow:
    id: uuid.UUID
    podcast_id: uuid.UUID
    title: str
    publish_date: datetime | None


@dataclass(frozen=True)
class Holder:
    """An IO holding something (a slot, a code): which episode, and which order by id and number."""

    io_id: uuid.UUID
    number: str
    episode_id: uuid.UUID | None = None


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_ad_unit(
    session: AsyncSession, tenant_id: uuid.UUID, ad_unit_id: uuid.UUID, *, include_deleted: bool = False
) -> AdUnit | None:
    query = select(AdUnit).where(AdUnit.tenant_id == tenant_id, AdUnit.id == ad_unit_id)
    if not include_deleted:
        query = query.where(AdUnit.deleted_at.is_(None))
    return await session.scalar(query)


async def _page(
    session: AsyncSession, query: Select[Any], order: ColumnElement[Any], model: Any, page: Window
) -> tuple[Sequence[Any], int]:
    return await page_rows(session, query, page, ordered(order, page), model.id)


async def list_ad_units(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID, page: Window
) -> tuple[Sequence[AdUnit], int]:
    query = select(AdUnit).where(
        AdUnit.tenant_id == tenant_id, AdUnit.podcast_id == podcast_id, AdUnit.deleted_at.is_(None)
    )
    return await _page(session, query, getattr(AdUnit, page.sort), AdUnit, page)


async def soft_delete_ad_unit(session: AsyncSession, ad_unit: AdUnit) -> None:
    ad_unit.deleted_at = datetime.now(UTC)
    await session.flush()


async def live_ios_of_ad_unit(session: AsyncSession, tenant_id: uuid.UUID, ad_unit_id: uuid.UUID) -> list[Holder]:
    """Orders still to run or running on the ad unit (scheduled, active, or owing a makegood)."""
    rows = await session.execute(
        select(InsertionOrder.id, InsertionOrder.number)
        .where(
            InsertionOrder.tenant_id == tenant_id,
            InsertionOrder.ad_unit_id == ad_unit_id,
            InsertionOrder.status.not_in(FINISHED),
        )
        .order_by(InsertionOrder.number)
    )
    return [Holder(io_id, number) for io_id, number in rows]


async def lock_episodes(
    session: AsyncSession, tenant_id: uuid.UUID, episode_ids: Sequence[uuid.UUID]
) -> list[EpisodeRow]:
    """The live episodes among `episode_ids`, locked (FOR UPDATE) until the transaction ends, so two bookings of one
    episode check their slots and competitors one after the other. Locked in id order, so they cannot deadlock."""
    if not episode_ids:
        return []
    rows = await session.execute(
        select(_episodes.c.id, _episodes.c.podcast_id, _episodes.c.title, _episodes.c.publish_date)
        .where(
            _episodes.c.tenant_id == tenant_id,
            _episodes.c.id.in_(list(episode_ids)),
            _episodes.c.deleted_at.is_(None),
        )
        .order_by(_episodes.c.id)
        .with_for_update()
    )
    return [EpisodeRow(*row) for row in rows]


async def slot_holders(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ad_unit_id: uuid.UUID,
    episode_ids: Sequence[uuid.UUID],
    exclude_io: uuid.UUID | None,
) -> list[Holder]:
    query = (
        select(IoPlacement.io_id, InsertionOrder.number, IoPlacement.episode_id)
        .join(
            InsertionOrder,
            (InsertionOrder.tenant_id == IoPlacement.tenant_id) & (InsertionOrder.id == IoPlacement.io_id),
        )
        .where(
            IoPlacement.tenant_id == tenant_id,
            IoPlacement.ad_unit_id == ad_unit_id,
            IoPlacement.episode_id.in_(list(episode_ids)),
        )
        .order_by(IoPlacement.episode_id)
    )
    if exclude_io is not None:
        query = query.where(IoPlacement.io_id != exclude_io)
    return [Holder(io_id, number, episode_id) for io_id, number, episode_id in await session.execute(query)]


async def competitors(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    episode_ids: Sequence[uuid.UUID],
    industry: str,
    sponsor_id: uuid.UUID,
    exclude_io: uuid.UUID | None,
) -> list[Holder]:
    """Live orders of other sponsors in the same industry (ignoring case) in any of the episodes, that have not
    waived separation themselves."""
    query = (
        select(InsertionOrder.id, InsertionOrder.number, IoPlacement.episode_id)
        .join(
            IoPlacement,
            (IoPlacement.tenant_id == InsertionOrder.tenant_id) & (IoPlacement.io_id == InsertionOrder.id),
        )
        .where(
            InsertionOrder.tenant_id == tenant_id,
            IoPlacement.episode_id.in_(list(episode_ids)),
            func.lower(IoPlacement.industry) == industry.lower(),
            InsertionOrder.sponsor_id != sponsor_id,
            InsertionOrder.separation_waived.is_(False),
            InsertionOrder.status != "cancelled",
        )
        .order_by(IoPlacement.episode_id, InsertionOrder.number)
    )
    if exclude_io is not None:
        query = query.where(InsertionOrder.id != exclude_io)
    return [Holder(io_id, number, episode_id) for io_id, number, episode_id in await session.execute(query)]


async def promo_code_holder(
    session: AsyncSession, tenant_id: uuid.UUID, code: str, exclude_io: uuid.UUID | None
) -> Holder | None:
    query = select(InsertionOrder.id, InsertionOrder.number).where(
        InsertionOrder.tenant_id == tenant_id,
        func.lower(InsertionOrder.promo_code) == code.lower(),
        InsertionOrder.status != "cancelled",
    )
    if exclude_io is not None:
        query = query.where(InsertionOrder.id != exclude_io)
    row = (await session.execute(query.limit(1))).first()
    return Holder(row[0], row[1]) if row else None


async def vanity_slug_holder(
    session: AsyncSession, tenant_id: uuid.UUID, slug: str, exclude_io: uuid.UUID | None
) -> Holder | None:
    query = select(InsertionOrder.id, InsertionOrder.number).where(
        InsertionOrder.tenant_id == tenant_id,
        func.lower(InsertionOrder.vanity_slug) == slug.lower(),
        InsertionOrder.status != "cancelled",
    )
    if exclude_io is not None:
        query = query.where(InsertionOrder.id != exclude_io)
    row = (await session.execute(query.limit(1))).first()
    return Holder(row[0], row[1]) if row else None


async def lock_vanity_slug(session: AsyncSession, slug: str) -> None:
    """Slugs are unique across workspaces (the URL names none): two bookings of one slug, in any workspaces, wait
    for each other here."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('vanity:' || lower(:slug), 0))"), {"slug": slug}
    )


async def vanity_slug_owner(session: AsyncSession, slug: str) -> uuid.UUID | None:
    """The workspace whose live order uses the slug, whichever it is (a SECURITY DEFINER function; see 0008)."""
    owner = await session.scalar(text("SELECT bookings_vanity_slug_owner(:slug)"), {"slug": slug})
    return uuid.UUID(str(owner)) if owner is not None else None


async def next_io_sequence(session: AsyncSession, tenant_id: uuid.UUID, prefix: str) -> int:
    """The next number of the workspace's IOs under `prefix` (e.g. IO-2026-), held until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": f"io-number:{tenant_id}:{prefix}"}
    )
    last = await session.scalar(
        select(func.max(cast(func.split_part(InsertionOrder.number, "-", 3), BigInteger))).where(
            # Only numbers of this form count (rows written by other means may be numbered otherwise).
            InsertionOrder.tenant_id == tenant_id,
            InsertionOrder.number.regexp_match(f"^{re.escape(prefix)}[0-9]{{1,15}}$"),
        )
    )
    return int(last or 0) + 1


async def get_io(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    io_id: uuid.UUID,
    *,
    only_sponsor: uuid.UUID | None = None,
    for_update: bool = False,
) -> InsertionOrder | None:
    query = select(InsertionOrder).where(InsertionOrder.tenant_id == tenant_id, InsertionOrder.id == io_id)
    if only_sponsor is not None:
        query = query.where(InsertionOrder.sponsor_id == only_sponsor)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def placements_of(session: AsyncSession, tenant_id: uuid.UUID, io_ids: Iterable[uuid.UUID]) -> list[IoPlacement]:
    ids = list(io_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(IoPlacement)
        .where(IoPlacement.tenant_id == tenant_id, IoPlacement.io_id.in_(ids))
        .order_by(IoPlacement.io_id, IoPlacement.bonus, IoPlacement.episode_id)
    )
    return list(rows.all())


async def list_ios(
    session: AsyncSession, tenant_id: uuid.UUID, only_sponsor: uuid.UUID | None, where: IoQuery, page: Window
) -> tuple[Sequence[InsertionOrder], int]:
    query = select(InsertionOrder).where(InsertionOrder.tenant_id == tenant_id)
    if only_sponsor is not None:
        query = query.where(InsertionOrder.sponsor_id == only_sponsor)
    if where.statuses:
        query = query.where(InsertionOrder.status.in_(list(where.statuses)))
    for name in ("sponsor_id", "campaign_id", "podcast_id"):
        value = getattr(where, name)
        if value is not None:
            query = query.where(getattr(InsertionOrder, name) == value)
    if where.start is not None:
        query = query.where(InsertionOrder.flight_end >= where.start)
    if where.end is not None:
        query = query.where(InsertionOrder.flight_start <= where.end)
    return await _page(session, query, getattr(InsertionOrder, page.sort), InsertionOrder, page)


def savepoint(session: AsyncSession) -> AsyncSessionTransaction:
    """A savepoint for writes a unique index may refuse: rolled back alone, it leaves the transaction usable to say
    who holds what. Open it before changing any row, as opening it flushes what is pending."""
    return session.begin_nested()


async def insert_io(session: AsyncSession, io: InsertionOrder, placements: Sequence[IoPlacement]) -> None:
    session.add(io)
    await session.flush()
    session.add_all(placements)
    await session.flush()


async def replace_placements(
    session: AsyncSession, removed: Sequence[IoPlacement], added: Sequence[IoPlacement]
) -> None:
    """Removes first, so a slot an order keeps moving between rows never meets its own unique index."""
    for placement in removed:
        await session.delete(placement)
    await session.flush()
    session.add_all(added)
    await session.flush()


async def delete_placements(session: AsyncSession, tenant_id: uuid.UUID, io_id: uuid.UUID) -> int:
    result = await session.execute(
        delete(IoPlacement).where(IoPlacement.tenant_id == tenant_id, IoPlacement.io_id == io_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def violated_constraint(exc: IntegrityError) -> str:
    """The name of the index or constraint PostgreSQL refused the write under."""
    diag = getattr(exc.orig, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "")
