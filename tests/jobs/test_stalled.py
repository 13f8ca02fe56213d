"""Stalled-job recovery's rules, against procrastinate's own tables: which running jobs are put back in the queue
(their worker went silent, or its row is gone), which are not (their worker beats; they have finished), when a job is
failed instead (put back too often; a successor already waits under its queueing lock), and a worker asked to stop
still beating while its job finishes. The same recovery against real killed worker processes: test_worker_killed.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from podsponsor.config import reset_settings
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.jobs.app import app, run_worker
from podsponsor.jobs.enqueue import enqueue
from podsponsor.jobs.stalled import MAX_RECOVERIES, StalledJob, heartbeat_interval, recover_stalled_jobs

QUEUE = "tests-stalled"
SILENT = 30.0
RELEASES: dict[str, asyncio.Event] = {}


@app.task(name="tests.stalled_noop", queue=QUEUE)
async def noop(marker: str) -> None:
    return None


@app.task(name="tests.stalled_hold", queue=QUEUE)
async def hold(marker: str) -> None:
    await RELEASES[marker].wait()


async def _sql(query: str, **params: Any) -> list[Any]:
    """Rows of the statement (an UPDATE ... RETURNING, when it changes rows)."""
    async with unscoped_transaction() as session:
        return list((await session.execute(text(query), params)).all())


async def _worker(silent_for: float) -> int:
    [(worker_id,)] = await _sql(
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - make_interval(secs => :s)) RETURNING id",
        s=silent_for,
    )
    return int(worker_id)


async def _job(queue: str = QUEUE, **options: Any) -> int:
    async with unscoped_transaction() as session:
        return await enqueue(session, "tests.stalled_noop", queue=queue, marker=uuid.uuid4().hex, **options)


async def _running(job_id: int, worker_id: int | None, attempts: int = 0) -> None:
    """The job as a worker leaves it once it has fetched it."""
    await _sql(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w, attempts = :a WHERE id = :id RETURNING id",
        w=worker_id,
        a=attempts,
        id=job_id,
    )


async def _state(job_id: int) -> tuple[str, int]:
    [(status, attempts)] = await _sql("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = :id", id=job_id)
    return status, attempts


def _mine(recovered: list[StalledJob], *job_ids: int) -> dict[int, str]:
    return {job.id: job.outcome for job in recovered if job.id in job_ids}


async def test_jobs_of_a_silent_or_vanished_worker_are_put_back_and_a_beating_workers_are_not(db: Database) -> None:
    silent, beating = await _worker(SILENT + 60), await _worker(0)
    of_silent, of_vanished, of_beating, finished = [await _job() for _ in range(4)]
    await _running(of_silent, silent)
    await _running(of_vanished, None)  # its worker's row was pruned, which nulls the job's worker
    await _running(of_beating, beating)
    await _running(finished, silent)
    await _sql("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = :id RETURNING id", id=finished)

    recovered = await recover_stalled_jobs(SILENT)

    assert _mine(recovered, of_silent, of_vanished, of_beating, finished) == {
        of_silent: "retried",
        of_vanished: "retried",
    }
    assert await _state(of_silent) == await _state(of_vanished) == ("todo", 1)
    assert await _state(of_beating) == ("doing", 0)
    assert await _state(finished) == ("succeeded", 0)
    assert _mine(await recover_stalled_jobs(SILENT), of_silent, of_vanished) == {}, "put back once"


async def test_a_job_put_back_too_often_is_failed_the_next_time_its_worker_dies(db: Database) -> None:
    silent = await _worker(SILENT + 60)
    again, poison = await _job(), await _job()
    await _running(again, silent, attempts=MAX_RECOVERIES - 1)
    await _running(poison, silent, attempts=MAX_RECOVERIES)

    recovered = await recover_stalled_jobs(SILENT)

    assert _mine(recovered, again, poison) == {again: "retried", poison: "given up"}
    assert await _state(again) == ("todo", MAX_RECOVERIES)
    assert (await _state(poison))[0] == "failed"


async def test_a_stalled_job_whose_successor_waits_under_its_queueing_lock_is_failed_and_the_round_goes_on(
    db: Database,
) -> None:
    silent = await _worker(SILENT + 60)
    lock = f"stalled-{uuid.uuid4().hex}"
    stalled = await _job(queueing_lock=lock)
    await _running(stalled, silent)
    successor = await _job(queueing_lock=lock)  # allowed: the first one is no longer waiting
    other = await _job()
    await _running(other, silent)

    recovered = await recover_stalled_jobs(SILENT)

    assert _mine(recovered, stalled, other) == {stalled: "superseded", other: "retried"}
    assert (await _state(stalled))[0] == "failed"
    assert await _state(successor) == ("todo", 0)
    assert await _state(other) == ("todo", 1)


async def test_the_recovery_runs_every_minute_as_a_job_of_the_runtime_role(db: Database) -> None:
    periodic = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic["jobs.recover_stalled"] == "* * * * *"
    silent = await _worker(SILENT + 60)
    queue = f"{QUEUE}-{uuid.uuid4().hex[:8]}"
    stalled = await _job(queue=queue)
    await _running(stalled, silent)
    async with unscoped_transaction() as session:
        recovery = await enqueue(session, "jobs.recover_stalled", queue=queue, timestamp=0)

    await run_worker(queues=[queue], wait=False)

    assert (await _state(recovery))[0] == "succeeded"
    assert (await _state(stalled))[0] == "succeeded", "put back (as the worker started, or by the job), then run"


@pytest.fixture
def short_stalled_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    seconds = 1.5
    monkeypatch.setenv("JOB_STALLED_TIMEOUT_SECONDS", str(seconds))
    reset_settings()
    yield seconds
    monkeypatch.undo()
    reset_settings()


async def test_a_worker_asked_to_stop_keeps_beating_while_its_job_finishes(
    db: Database, short_stalled_timeout: float
) -> None:
    marker = uuid.uuid4().hex
    RELEASES[marker] = asyncio.Event()
    queue = f"{QUEUE}-{marker[:8]}"
    async with unscoped_transaction() as session:
        job_id = await enqueue(session, "tests.stalled_hold", queue=queue, marker=marker)
    worker = asyncio.create_task(run_worker(queues=[queue], shutdown_graceful_timeout=60))
    try:
        deadline = time.monotonic() + 60
        while (await _state(job_id))[0] != "doing":
            assert time.monotonic() < deadline and not worker.done(), "the worker did not take the job"
            await asyncio.sleep(0.1)
        # A stop request: procrastinate stops its own heartbeat here, and waits for the job.
        worker.cancel()
        stopping_since = time.monotonic()
        while time.monotonic() - stopping_since < 3 * short_stalled_timeout:
            assert not _mine(await recover_stalled_jobs(short_stalled_timeout), job_id)
            await asyncio.sleep(heartbeat_interval(short_stalled_timeout) / 2)
        assert await _state(job_id) == ("doing", 0)
        assert not worker.done(), "the worker waits for its job"
    finally:
        RELEASES[marker].set()
        with pytest.raises(asyncio.CancelledError):
            await worker
        del RELEASES[marker]
    assert await _state(job_id) == ("succeeded", 1)
