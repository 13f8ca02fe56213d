"""Finished jobs are pruned after the retention period; waiting and recent jobs stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from podsponsor.config import get_settings
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.jobs.app import app, run_worker
from podsponsor.jobs.enqueue import enqueue
from podsponsor.jobs.maintenance import prune_finished_jobs
from tests.jobs.conftest import job_status, new_tenant

QUEUE = "tests-maintenance"


@app.task(name="tests.succeed", queue=QUEUE)
async def succeed(tenant_id: str, marker: str) -> None:
    return None


@app.task(name="tests.fail", queue=QUEUE)
async def fail(tenant_id: str, marker: str) -> None:
    raise RuntimeError("this job always fails")


async def _age(job_id: int, days: int) -> None:
    async with unscoped_transaction() as session:
        await session.execute(
            text("UPDATE procrastinate_events SET at = at - make_interval(days => :days) WHERE job_id = :id"),
            {"days": days, "id": job_id},
        )


async def _enqueue(tenant: uuid.UUID, task: str, **options: object) -> int:
    async with tenant_transaction(tenant) as session:
        return await enqueue(session, task, tenant_id=str(tenant), marker=uuid.uuid4().hex, **options)


async def test_old_finished_jobs_are_pruned_and_the_rest_kept(db: Database) -> None:
    tenant = await new_tenant()
    old_success = await _enqueue(tenant, "tests.succeed")
    old_failure = await _enqueue(tenant, "tests.fail")
    recent_success = await _enqueue(tenant, "tests.succeed")
    await run_worker(queues=[QUEUE], wait=False)
    assert await job_status(old_success) == "succeeded"
    assert await job_status(old_failure) == "failed"
    waiting = await _enqueue(tenant, "tests.succeed", scheduled_at=datetime.now(UTC) + timedelta(days=1))
    for job_id in (old_success, old_failure, waiting):
        await _age(job_id, 20)
    await _age(recent_success, 3)

    deleted = await prune_finished_jobs(retention_days=14, batch=1)

    assert deleted >= 2
    assert await job_status(old_success) is None
    assert await job_status(old_failure) is None
    assert await job_status(recent_success) == "succeeded"
    assert await job_status(waiting) == "todo"
    async with unscoped_transaction() as session:
        orphans = await session.scalar(
            text("SELECT count(*) FROM procrastinate_events WHERE job_id = ANY(:ids)"),
            {"ids": [old_success, old_failure]},
        )
    assert orphans == 0


async def test_the_worker_runs_the_prune_task_as_the_runtime_role(db: Database) -> None:
    tenant = await new_tenant()
    old = await _enqueue(tenant, "tests.succeed")
    await run_worker(queues=[QUEUE], wait=False)
    await _age(old, get_settings().job_retention_days + 1)
    async with unscoped_transaction() as session:
        prune = await enqueue(session, "jobs.prune_finished", queue=QUEUE, timestamp=0)
    await run_worker(queues=[QUEUE], wait=False)
    assert await job_status(prune) == "succeeded"
    assert await job_status(old) is None


def test_the_prune_is_scheduled_daily() -> None:
    schedules = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    minute, hour, *rest = schedules["jobs.prune_finished"].split()
    assert minute.isdigit()
    assert hour.isdigit()
    assert rest == ["*", "*", "*"]
