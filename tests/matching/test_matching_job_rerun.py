"""The whole-workspace job run again (its worker died after the run's last commit, so stalled-job recovery put the
job back) leaves the completed run as it was: no second set of matches, no second `match.recalculated`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from podsponsor.db.tenancy import tenant_transaction
from podsponsor.matching import tasks
from tests.bookings.booking_world import ok
from tests.matching.world import make_world


async def _announcements(tenant_id: uuid.UUID, run_id: str) -> int:
    async with tenant_transaction(tenant_id) as session:
        count = await session.scalar(
            text("SELECT count(*) FROM events WHERE type = 'match.recalculated' AND payload->>'run_id' = :run"),
            {"run": run_id},
        )
    return int(count or 0)


async def test_a_completed_run_is_not_redone_when_its_job_runs_again(server: str, db: Any) -> None:
    world = make_world(server)
    tenant_id = uuid.UUID(world.tenant.id)
    run = ok(world.owner.post("/api/v1/match/recalculate"), 202)
    await tasks.run_tenant(tenant_id, uuid.UUID(run["id"]))
    done = ok(world.owner.get(f"/api/v1/match/runs/{run['id']}"), 200)
    assert done["status"] == "completed"

    await tasks.run_tenant(tenant_id, uuid.UUID(run["id"]))

    assert ok(world.owner.get(f"/api/v1/match/runs/{run['id']}"), 200) == done
    assert await _announcements(tenant_id, run["id"]) == 1
