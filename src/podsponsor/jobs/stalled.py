"""Jobs whose worker died: found by the worker's silence, put back in the queue, run again by another worker.

Every worker beats (updates its row in `procrastinate_workers`) several times per `JOB_STALLED_TIMEOUT_SECONDS`.
A job still `doing` when its worker has been silent longer than that is retried: once when a worker starts, and
every minute by `jobs.recover_stalled`. A job whose worker still beats is never touched, however long it runs.
Jobs are written so that running one again is safe: their effects commit in one transaction (a killed run leaves
nothing) or are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from procrastinate.job_context import JobContext
from procrastinate.worker import Worker
from sqlalchemy.exc import IntegrityError

from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.jobs import repository

log = logging.getLogger(__name__)

# A job put back this many times is failed the next time its worker dies: a job that kills whatever runs it (out of
# memory, say) must not take the workers down one after another forever. No task retries by itself, so a running
# job's attempts are the times it was put back.
MAX_RECOVERIES: Final = 3
# procrastinate's default beat; shorter timeouts beat more often.
LONGEST_BEAT_SECONDS: Final = 10.0


@dataclass
class StalledJob:
    id: int
    task_name: str
    queue_name: str
    attempts: int
    worker_id: int | None
    last_heartbeat: datetime | None
    # "retried", "given up" (after MAX_RECOVERIES) or "superseded" (another job with its queueing lock is waiting,
    # and will do the same work: two jobs may not wait under one queueing lock).
    outcome: str = "retried"


def heartbeat_interval(stalled_timeout: float) -> float:
    """Three beats fit in the stalled timeout, so one late beat (a busy machine, a slow query) never makes a live
    worker look dead."""
    return min(LONGEST_BEAT_SECONDS, stalled_timeout / 3)


async def recover_stalled_jobs(silent_seconds: float) -> list[StalledJob]:
    """Put back in the queue every running job whose worker has been silent for more than `silent_seconds` (or fail
    it: see StalledJob.outcome); the jobs handled. Safe to run from several workers at once."""
    async with unscoped_transaction() as session:
        stalled = [StalledJob(**row._mapping) for row in await repository.lock_stalled(session, silent_seconds)]
        for job in stalled:
            if job.attempts >= MAX_RECOVERIES:
                job.outcome = "given up"
                await repository.fail(session, job.id)
                continue
            try:
                async with session.begin_nested():
                    await repository.retry_now(session, job.id)
            except IntegrityError as exc:
                if "queueing_lock" not in str(exc.orig):
                    raise
                job.outcome = "superseded"
                await repository.fail(session, job.id)
    for job in stalled:
        _log(job, silent_seconds)
    return stalled


def _log(job: StalledJob, silent_seconds: float) -> None:
    extra = {
        "job_id": job.id,
        "task": job.task_name,
        "queue": job.queue_name,
        "attempts": job.attempts,
        "worker_id": job.worker_id,
        "last_heartbeat": job.last_heartbeat.isoformat() if job.last_heartbeat else None,
        "silent_seconds": silent_seconds,
        "outcome": job.outcome,
    }
    if job.outcome == "given up":
        log.error("stalled job failed: its worker died every time it ran", extra=extra)
    elif job.outcome == "superseded":
        log.warning("stalled job failed: a job waiting under its queueing lock will do its work", extra=extra)
    else:
        log.warning("stalled job retried: its worker stopped beating", extra=extra)


async def beat_while_running(call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker) -> Any:
    """A worker middleware: the worker keeps beating while any of its jobs runs.

    procrastinate stops its own heartbeat as soon as the worker is asked to stop, while its running jobs still have
    `shutdown_graceful_timeout` to finish; without this, a long job finishing during a graceful stop would look
    stalled and be run a second time by another worker."""
    beating = asyncio.create_task(_beat(worker), name=f"heartbeat during job {context.job.id}")
    try:
        return await call_next()
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


async def _beat(worker: Worker) -> None:
    while True:
        await asyncio.sleep(worker.update_heartbeat_interval)
        if worker.worker_id is None:
            return
        try:
            await worker.app.job_manager.update_heartbeat(worker.worker_id)
        except Exception:  # a missed beat must not fail the job; the worker's own heartbeat reports the database
            log.warning("job heartbeat failed", extra={"worker_id": worker.worker_id}, exc_info=True)
