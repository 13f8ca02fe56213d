"""The vanity redirect's queries: which IO a slug leads to (before any workspace is known), and its clicks."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.bookings.models import InsertionOrder, VanityClick

# SECURITY DEFINER (migration 0008): the URL names no workspace, so this is the one lookup across them. Cancelled
# orders do not answer; of two live orders with one slug the older does.
IO_FOR_VANITY = text(
    "SELECT tenant_id, io_id, landing_url, promo_code, status FROM bookings_io_for_vanity(CAST(:slug AS text))"
)


class VanityTarget(NamedTuple):
    tenant_id: uuid.UUID
    io_id: uuid.UUID
    landing_url: str | None
    promo_code: str | None
    status: str


async def io_for_vanity(session: AsyncSession, slug: str) -> VanityTarget | None:
    row = (await session.execute(IO_FOR_VANITY, {"slug": slug})).first()
    return VanityTarget(*row) if row else None


async def io_number(session: AsyncSession, tenant_id: uuid.UUID, io_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(InsertionOrder.number).where(InsertionOrder.tenant_id == tenant_id, InsertionOrder.id == io_id)
    )


async def add_click(session: AsyncSession, click: VanityClick) -> None:
    session.add(click)
    await session.flush()
