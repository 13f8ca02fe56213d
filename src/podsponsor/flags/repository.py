from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.flags.models import FeatureFlag


async def overrides(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, bool]:
    rows = await session.execute(
        select(FeatureFlag.name, FeatureFlag.enabled).where(FeatureFlag.tenant_id == tenant_id)
    )
    return {name: enabled for name, enabled in rows}


async def upsert(session: AsyncSession, tenant_id: uuid.UUID, name: str, enabled: bool) -> None:
    statement = insert(FeatureFlag).values(tenant_id=tenant_id, id=uuid.uuid4(), name=name, enabled=enabled)
    await session.execute(
        statement.on_conflict_do_update(constraint="uq_feature_flags_tenant_id_name", set_={"enabled": enabled})
    )


async def remove(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> None:
    await session.execute(delete(FeatureFlag).where(FeatureFlag.tenant_id == tenant_id, FeatureFlag.name == name))
