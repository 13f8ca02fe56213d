"""Feature flags: the environment gives each flag's default; a tenant may override it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.config import FEATURE_FLAGS, get_settings
from podsponsor.errors import NotFound
from podsponsor.events import service as events
from podsponsor.flags import repository
from podsponsor.flags.schemas import FlagOut


async def is_enabled(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> bool:
    overrides = await repository.overrides(session, tenant_id)
    return overrides.get(name, get_settings().flag_default(name))


async def list_flags(session: AsyncSession, subject: Subject) -> list[FlagOut]:
    overrides = await repository.overrides(session, subject.tenant_id)
    settings = get_settings()
    return [
        FlagOut(
            name=name,
            enabled=overrides.get(name, settings.flag_default(name)),
            source="tenant" if name in overrides else "environment",
        )
        for name in FEATURE_FLAGS
    ]


async def set_flag(session: AsyncSession, subject: Subject, name: str, enabled: bool | None) -> FlagOut:
    if name not in FEATURE_FLAGS:
        raise NotFound(f"no feature flag '{name}'")
    if enabled is None:
        await repository.remove(session, subject.tenant_id, name)
    else:
        await repository.upsert(session, subject.tenant_id, name, enabled)
    await events.record(session, subject, "feature_flag.changed", payload={"name": name, "enabled": enabled})
    return next(f for f in await list_flags(session, subject) if f.name == name)
