"""Every query of the job queue: deferring a job in the caller's transaction, pruning finished jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, text
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
