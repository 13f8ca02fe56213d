"""Every query of reports: the share links of campaigns, and the one lookup of a link across workspaces."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.reports.models import CampaignShareLink

# SECURITY DEFINER (migration 0011): a shared link names no workspace, so this is the one lookup across them. It
# answers for expired and revoked links too, so the page can say which.
LINK_FOR_TOKEN = text(
    "SELECT tenant_id, link_id, campaign_id, expires_at, revoked_at "
    "FROM reports_share_link_for_token(CAST(:token_hash AS text))"
)


class LinkRef(NamedTuple):
    tenant_id: uuid.UUID
    link_id: uuid.UUID
    campaign_id: uuid.UUID
    expires_at: datetime
    revoked_at: datetime | None


async def link_for_token(session: AsyncSession, token_hash: str) -> LinkRef | None:
    row = (await session.execute(LINK_FOR_TOKEN, {"token_hash": token_hash})).first()
    return LinkRef(*row) if row else None


async def add(session: AsyncSession, link: CampaignShareLink) -> None:
    session.add(link)
    await session.flush()


async def get_link(session: AsyncSession, tenant_id: uuid.UUID, link_id: uuid.UUID) -> CampaignShareLink | None:
    return await session.scalar(
        select(CampaignShareLink).where(CampaignShareLink.tenant_id == tenant_id, CampaignShareLink.id == link_id)
    )


async def campaign_links(
    session: AsyncSession, tenant_id: uuid.UUID, campaign_id: uuid.UUID
) -> Sequence[CampaignShareLink]:
    query = (
        select(CampaignShareLink)
        .where(CampaignShareLink.tenant_id == tenant_id, CampaignShareLink.campaign_id == campaign_id)
        .order_by(CampaignShareLink.created_at.desc(), CampaignShareLink.id)
    )
    return (await session.scalars(query)).all()


async def count_view(session: AsyncSession, tenant_id: uuid.UUID, link_id: uuid.UUID, at: datetime) -> None:
    """One statement, so views opened at the same moment are all counted."""
    await session.execute(
        update(CampaignShareLink)
        .where(CampaignShareLink.tenant_id == tenant_id, CampaignShareLink.id == link_id)
        .values(views=CampaignShareLink.views + 1, last_viewed_at=at)
    )
