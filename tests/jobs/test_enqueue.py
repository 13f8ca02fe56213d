"""Jobs are enqueued in the caller's transaction and run by a worker connected as the runtime role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from podsponsor.auth.subject import system_subject
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.events import service as events
from podsponsor.jobs.app import app, run_worker
from podsponsor.jobs.enqueue import JobAlreadyQueued, UnknownTask, enqueue
from tests.jobs.conftest import events_with, job_status, jobs_with, new_tenant

QUEUE = "tests-enqueue"


@app.task(name="tests.record_visit", queue=QUEUE)
async def record_visit(tenant_id: str, marker: str) -> None:
    tenant = uuid.UUID(tenant_id)
    async with tenant_transaction(tenant) as session:
        await events.record(session, system_subject(tenant), "test.job_ran", payload={"marker": marker})


class Boom(Exception):
    pass


async def test_a_rolled_back_transaction_leaves_no_job(db: Database) -> None:
    tenant = await new_tenant()
    marker = uuid.uuid4().hex

    async def change_then_fail() -> None:
        async with tenant_transaction(tenant) as session:
            await enqueue(session, "tests.record_visit", tenant_id=str(tenant), marker=marker)
            raise Boom

    with pytest.raises(Boom):
        await change_then_fail()
    assert await jobs_with(marker) == []


async def test_a_committed_transaction_leaves_one_job_with_its_args(db: Database) -> None:
    tenant = await new_tenant()
    marker = uuid.uuid4().hex
    async with tenant_transaction(tenant) as session:
        job_id = await enqueue(session, "tests.record_visit", tenant_id=str(tenant), marker=marker)
    [job] = await jobs_with(marker)
    assert job["id"] == job_id
    assert job["task_name"] == "tests.record_visit"
    assert job["queue_name"] == QUEUE
    assert job["status"] == "todo"
    assert job["args"] == {"tenant_id": str(tenant), "marker": marker}


async def test_an_unknown_task_name_is_refused(db: Database) -> None:
    tenant = await new_tenant()
    async with tenant_transaction(tenant) as session:
        with pytest.raises(UnknownTask, match=r"reports\.no_such_thing"):
            await enqueue(session, "reports.no_such_thing", tenant_id=str(tenant))


async def test_objects_are_refused_as_job_arguments(db: Database) -> None:
    tenant = await new_tenant()
    async with tenant_transaction(tenant) as session:
        with pytest.raises(TypeError, match="ids as strings"):
            await enqueue(session, "tests.record_visit", tenant_id=tenant, marker="x")


async def test_a_second_job_with_the_same_queueing_lock_is_refused_and_the_transaction_survives(db: Database) -> None:
    tenant = await new_tenant()
    marker = uuid.uuid4().hex
    async with tenant_transaction(tenant) as session:
        await enqueue(session, "tests.record_visit", queueing_lock=marker, tenant_id=str(tenant), marker=marker)
        with pytest.raises(JobAlreadyQueued):
            await enqueue(session, "tests.record_visit", queueing_lock=marker, tenant_id=str(tenant), marker=marker)
        await events.record(session, system_subject(tenant), "test.job_ran", payload={"marker": marker})
    assert [job["queueing_lock"] for job in await jobs_with(marker)] == [marker]
    assert await events_with(tenant, marker) == 1


async def test_a_worker_runs_the_job_exactly_once(db: Database) -> None:
    tenant = await new_tenant()
    marker = uuid.uuid4().hex
    async with tenant_transaction(tenant) as session:
        job_id = await enqueue(session, "tests.record_visit", tenant_id=str(tenant), marker=marker)
    assert await events_with(tenant, marker) == 0
    await run_worker(queues=[QUEUE], wait=False)
    await run_worker(queues=[QUEUE], wait=False)
    assert await job_status(job_id) == "succeeded"
    assert await events_with(tenant, marker) == 1


async def test_a_job_scheduled_later_waits(db: Database) -> None:
    tenant = await new_tenant()
    marker = uuid.uuid4().hex
    later = datetime.now(UTC) + timedelta(hours=1)
    async with tenant_transaction(tenant) as session:
        job_id = await enqueue(session, "tests.record_visit", scheduled_at=later, tenant_id=str(tenant), marker=marker)
    await run_worker(queues=[QUEUE], wait=False)
    assert await job_status(job_id) == "todo"
    assert await events_with(tenant, marker) == 0
