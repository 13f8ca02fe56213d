"""Every sales query."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.sales.models import Sponsor


async def get_sponsor(session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID) -> Sponsor | None:
    return await session.scalar(
        select(Sponsor).where(Sponsor.tenant_id == tenant_id, Sponsor.id == sponsor_id, Sponsor.deleted_at.is_(None))
    )
