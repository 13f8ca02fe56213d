"""Sales rules: sponsors (advertisers) and campaigns (deals)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.sales import repository


async def sponsor_exists(session: AsyncSession, tenant_id: uuid.UUID, sponsor_id: uuid.UUID) -> bool:
    return await repository.get_sponsor(session, tenant_id, sponsor_id) is not None
