"""Every query of the job queue: deferring a job in the caller's transaction, pruning finished jobs, putting back
the jobs of dead workers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# procrastinate's own deferral function, called on the caller's connection: the job exists exactly when the
# caller's transaction commits.
DEFER = text(
    """
    SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(
        CAST(:queue AS varchar), CAST(:task AS varchar), CAST(:priority AS integer), CAST(:lock AS text),
        CAST(:queueing_lock AS text), CAST(:args AS jsonb), CAST(:scheduled_at AS timestamptz)
    )::procrastinate_job_to_defer_v1]))[1]
    """
)

# A job is finished when it succeeded or failed; its last event says when. Jobs that procrastinate's periodic
# bookkeeping still points at are kept (that reference has no ON DELETE rule).
DELETE_FINISHED = text(
    """
    DELETE FROM procrastinate_jobs
    WHERE id IN (
        SELECT j.id FROM procrastinate_jobs j
        WHERE j.status IN ('succeeded', 'failed')
          AND NOT EXISTS (SELECT 1 FROM procrastinate_periodic_defers d WHERE d.job_id = j.id)
          AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at >= :cutoff)
        LIMIT :batch
    )
    """
)

# Running jobs whose worker has not beaten for `silent` seconds, or whose worker row is gone (another worker pruned
# it, which nulls the job's worker_id): procrastinate's own stalled-job rule. The rows are locked, and a job being
# finished right now is skipped, so a job cannot end between being found here and being put back.
LOCK_STALLED = text(
    """
    SELECT j.id, j.task_name, j.queue_name, j.attempts, j.worker_id, w.last_heartbeat
    FROM procrastinate_jobs j
    LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
    WHERE j.status = 'doing'
      AND (w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => CAST(:silent AS double precision)))
    ORDER BY j.id
    FOR UPDATE OF j SKIP LOCKED
    """
)
# procrastinate's own functions, so the job's events and attempts are kept as a retry by the worker would keep them.
RETRY_NOW = text("SELECT procrastinate_retry_job_v2(CAST(:id AS bigint), now(), NULL, NULL, NULL)")
FAIL = text("SELECT procrastinate_finish_job_v1(CAST(:id AS bigint), 'failed', false)")


async def defer(
    session: AsyncSession,
    *,
    queue: str,
    task: str,
    priority: int,
    lock: str | None,
    queueing_lock: str | None,
    args_json: str,
    scheduled_at: datetime | None,
) -> int:
    job_id = await session.scalar(
        DEFER,
        {
            "queue": queue,
            "task": task,
            "priority": priority,
            "lock": lock,
            "queueing_lock": queueing_lock,
            "args": args_json,
            "scheduled_at": scheduled_at,
        },
    )
    return int(job_id)


async def delete_finished(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    result = cast(CursorResult[Any], await session.execute(DELETE_FINISHED, {"cutoff": cutoff, "batch": batch}))
    return int(result.rowcount)


async def lock_stalled(session: AsyncSession, silent_seconds: float) -> Sequence[Row[Any]]:
    return (await session.execute(LOCK_STALLED, {"silent": silent_seconds})).all()


async def retry_now(session: AsyncSession, job_id: int) -> None:
    await session.execute(RETRY_NOW, {"id": job_id})


async def fail(session: AsyncSession, job_id: int) -> None:
    await session.execute(FAIL, {"id": job_id})
