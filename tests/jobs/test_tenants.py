"""A job that acts for every tenant visits each one, scoped to it, and one tenant's failure spares the rest."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import system_subject
from podsponsor.db.engine import Database
from podsponsor.events import service as events
from podsponsor.jobs.tenants import TenantStepsFailed, for_each_tenant
from tests.jobs.conftest import events_with, new_tenant


async def test_every_tenant_is_visited_once_inside_its_own_scope(db: Database) -> None:
    first, second = await new_tenant(), await new_tenant()
    seen: dict[uuid.UUID, list[uuid.UUID]] = {}

    async def step(session: AsyncSession, tenant_id: uuid.UUID) -> None:
        assert tenant_id not in seen
        seen[tenant_id] = list((await session.execute(text("SELECT id FROM tenants"))).scalars())

    visited = await for_each_tenant(step)

    assert {first, second} <= set(visited)
    assert set(seen) == set(visited)
    assert seen[first] == [first]
    assert seen[second] == [second]


async def test_a_failing_tenant_is_rolled_back_and_the_others_still_run(db: Database) -> None:
    broken, healthy = await new_tenant(), await new_tenant()
    marker = uuid.uuid4().hex

    async def step(session: AsyncSession, tenant_id: uuid.UUID) -> None:
        if tenant_id not in (broken, healthy):
            return
        await events.record(session, system_subject(tenant_id), "test.job_ran", payload={"marker": marker})
        if tenant_id == broken:
            raise RuntimeError("this tenant's step fails")

    with pytest.raises(TenantStepsFailed) as failure:
        await for_each_tenant(step)

    assert failure.value.failed == [broken]
    assert await events_with(broken, marker) == 0
    assert await events_with(healthy, marker) == 1
