"""Every sales query. Deleted rows are hidden; `only_sponsor` narrows a query to one sponsor (advertiser users)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.paging import ordered, page_rows
from podsponsor.listing import Window
from podsponsor.sales.models import Campaign, Sponsor


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_sponsor(
    session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID, *, only_sponsor: uuid.UUID | None = None
) -> Sponsor | None:
    query = select(Sponsor).where(
        Sponsor.tenant_id == tenant_id, Sponsor.id == sponsor_id, Sponsor.deleted_at.is_(None)
    )
    if only_sponsor is not None:
        query = query.where(Sponsor.id == only_sponsor)
    return await session.scalar(query)


async def sponsor_by_name(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> Sponsor | None:
    return await session.scalar(
        select(Sponsor).where(
            Sponsor.tenant_id == tenant_id, func.lower(Sponsor.name) == name.lower(), Sponsor.deleted_at.is_(None)
        )
    )


async def _page(
    session: AsyncSession, query: Select[Any], order: ColumnElement[Any], model: Any, page: Window
) -> tuple[Sequence[Any], int]:
    return await page_rows(session, query, page, ordered(order, page), model.id)


def _sponsor_order(sort: str) -> ColumnElement[Any]:
    # Names sort the way people read them, not by code point (upper case before lower).
    return func.lower(Sponsor.name) if sort == "name" else getattr(Sponsor, sort)


async def list_sponsors(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    q: str | None,
    industry: str | None,
    page: Window,
) -> tuple[Sequence[Sponsor], int]:
    query = select(Sponsor).where(Sponsor.tenant_id == tenant_id, Sponsor.deleted_at.is_(None))
    if only_sponsor is not None:
        query = query.where(Sponsor.id == only_sponsor)
    if q:
        query = query.where(Sponsor.name.icontains(q, autoescape=True))
    if industry:
        query = query.where(func.lower(Sponsor.industry) == industry.lower())
    return await _page(session, query, _sponsor_order(page.sort), Sponsor, page)


async def get_campaign(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID, *, only_sponsor: uuid.UUID | None = None
) -> Campaign | None:
    query = select(Campaign).where(
        Campaign.tenant_id == tenant_id, Campaign.id == campaign_id, Campaign.deleted_at.is_(None)
    )
    if only_sponsor is not None:
        query = query.where(Campaign.sponsor_id == only_sponsor)
    return await session.scalar(query)


async def list_campaigns(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    only_sponsor: uuid.UUID | None,
    sponsor_id: uuid.UUID | None,
    stages: Sequence[str],
    q: str | None,
    page: Window,
) -> tuple[Sequence[Campaign], int]:
    query = select(Campaign).where(Campaign.tenant_id == tenant_id, Campaign.deleted_at.is_(None))
    if only_sponsor is not None:
        query = query.where(Campaign.sponsor_id == only_sponsor)
    if sponsor_id is not None:
        query = query.where(Campaign.sponsor_id == sponsor_id)
    if stages:
        query = query.where(Campaign.stage.in_(stages))
    if q:
        query = query.where(Campaign.name.icontains(q, autoescape=True))
    order = func.lower(Campaign.name) if page.sort == "name" else getattr(Campaign, page.sort)
    return await _page(session, query, order, Campaign, page)


async def soft_delete(session: AsyncSession, row: Sponsor | Campaign) -> None:
    row.deleted_at = datetime.now(UTC)
    await session.flush()


async def soft_delete_campaigns_of(session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Campaign)
        .where(Campaign.tenant_id == tenant_id, Campaign.sponsor_id == sponsor_id, Campaign.deleted_at.is_(None))
        .values(deleted_at=func.now())
        .returning(Campaign.id)
    )
    return len(result.all())
