"""Queries of delivery and makegoods: the orders to refresh, the episodes an order's spot runs in (with their UTC
release days), the show's releases in a flight, and makegoods with their orders.

Episodes belong to the catalog; their release days are read here in the same statement as the slots rather than one
call per episode (a read-only join by key, under the same row-level security).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement, Makegood
from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window

LIVE_STATUSES = ("scheduled", "active")
# The UTC day of an episode's release, as measurement dates downloads.
_RELEASED = "(e.publish_date AT TIME ZONE 'UTC')::date"
PLACEMENTS = f"""
    SELECT p.io_id, p.episode_id, p.bonus, {_RELEASED} AS released,
           (SELECT min((m.settled_at AT TIME ZONE 'UTC')::date) FROM makegoods m
             WHERE m.tenant_id = p.tenant_id AND m.io_id = p.io_id AND m.settlement = 'bonus_episode'
               AND m.bonus_episode_id = p.episode_id) AS bonus_from
    FROM io_placements p
    JOIN episodes e ON e.tenant_id = p.tenant_id AND e.id = p.episode_id
    WHERE p.tenant_id = :tenant AND p.io_id = ANY(:ios)
    ORDER BY p.io_id, released NULLS LAST, p.episode_id
"""
RELEASES = f"""
    SELECT e.id, {_RELEASED} AS released FROM episodes e
    WHERE e.tenant_id = :tenant AND e.podcast_id = :podcast AND e.deleted_at IS NULL AND e.publish_date IS NOT NULL
      AND {_RELEASED} BETWEEN :first AND :last
    ORDER BY released, e.id
"""


@dataclass(frozen=True)
class PlacementRow:
    io_id: uuid.UUID
    episode_id: uuid.UUID
    bonus: bool
    released: date | None
    # The day the makegood that added this bonus slot was settled; None for a slot booked with the order.
    bonus_from: date | None


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


async def campaign_ios(session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> Sequence[InsertionOrder]:
    query = (
        select(InsertionOrder)
        .where(InsertionOrder.tenant_id == tenant_id, InsertionOrder.campaign_id == campaign_id)
        .order_by(InsertionOrder.flight_start, InsertionOrder.number)
    )
    return (await session.scalars(query)).all()


async def live_ios(session: AsyncSession, tenant_id: uuid.UUID, started_by: date) -> Sequence[InsertionOrder]:
    """Scheduled and active orders whose flight has started, locked until the caller's transaction ends so an edit
    or a cancellation cannot interleave with the status the refresh decides."""
    query = (
        select(InsertionOrder)
        .where(
            InsertionOrder.tenant_id == tenant_id,
            InsertionOrder.status.in_(LIVE_STATUSES),
            InsertionOrder.flight_start <= started_by,
        )
        .order_by(InsertionOrder.flight_start, InsertionOrder.id)
        .with_for_update()
    )
    return (await session.scalars(query)).all()


async def has_live_ios(session: AsyncSession, tenant_id: uuid.UUID) -> bool:
    query = select(InsertionOrder.id).where(
        InsertionOrder.tenant_id == tenant_id, InsertionOrder.status.in_(LIVE_STATUSES)
    )
    return await session.scalar(query.limit(1)) is not None


async def insertions(session: AsyncSession, tenant_id: uuid.UUID, ad_unit_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Ad unit → how its spot is inserted (baked_in or dynamic)."""
    if not ad_unit_ids:
        return {}
    query = select(AdUnit.id, AdUnit.insertion).where(AdUnit.tenant_id == tenant_id, AdUnit.id.in_(ad_unit_ids))
    return {unit_id: insertion for unit_id, insertion in await session.execute(query)}


async def placements(session: AsyncSession, tenant_id: uuid.UUID, io_ids: list[uuid.UUID]) -> list[PlacementRow]:
    if not io_ids:
        return []
    rows = await session.execute(text(PLACEMENTS), {"tenant": tenant_id, "ios": io_ids})
    return [PlacementRow(row.io_id, row.episode_id, row.bonus, row.released, row.bonus_from) for row in rows]


async def releases(
    session: AsyncSession, tenant_id: uuid.UUID, podcast_id: uuid.UUID, first: date, last: date
) -> list[tuple[uuid.UUID, date]]:
    """The show's live episodes released (UTC day) from `first` to `last`."""
    rows = await session.execute(
        text(RELEASES), {"tenant": tenant_id, "podcast": podcast_id, "first": first, "last": last}
    )
    return [(row.id, row.released) for row in rows]


async def add(session: AsyncSession, row: Makegood | IoPlacement) -> None:
    session.add(row)
    await session.flush()


async def get_makegood(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    makegood_id: uuid.UUID,
    *,
    only_sponsor: uuid.UUID | None = None,
    for_update: bool = False,
) -> tuple[Makegood, InsertionOrder] | None:
    query = (
        select(Makegood, InsertionOrder)
        .join(InsertionOrder, (InsertionOrder.tenant_id == Makegood.tenant_id) & (InsertionOrder.id == Makegood.io_id))
        .where(Makegood.tenant_id == tenant_id, Makegood.id == makegood_id)
    )
    if only_sponsor is not None:
        query = query.where(InsertionOrder.sponsor_id == only_sponsor)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def list_makegoods(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    only_sponsor: uuid.UUID | None,
    settled: bool | None,
    io_id: uuid.UUID | None,
    page: Window,
) -> tuple[list[tuple[Makegood, InsertionOrder]], int]:
    query = (
        select(Makegood, InsertionOrder)
        .join(InsertionOrder, (InsertionOrder.tenant_id == Makegood.tenant_id) & (InsertionOrder.id == Makegood.io_id))
        .where(Makegood.tenant_id == tenant_id)
    )
    if only_sponsor is not None:
        query = query.where(InsertionOrder.sponsor_id == only_sponsor)
    if settled is not None:
        query = query.where(Makegood.settled_at.is_not(None) if settled else Makegood.settled_at.is_(None))
    if io_id is not None:
        query = query.where(Makegood.io_id == io_id)
    return await page_rows(session, query, page, ordered(getattr(Makegood, page.sort), page, nulls=False), Makegood.id)
