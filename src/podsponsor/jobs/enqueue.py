"""Enqueue a job inside the caller's transaction: a rolled-back change leaves no job, a committed one does."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.errors import Conflict
from podsponsor.jobs import repository
from podsponsor.jobs.app import registered_tasks


class UnknownTask(LookupError):
    """A programming error: no task of that name is registered, so no worker could ever run the job."""


class JobAlreadyQueued(Conflict):
    type = "job-already-queued"
    title = "That job is already waiting to run"


async def enqueue(
    session: AsyncSession,
    task_name: str,
    *,
    queue: str | None = None,
    priority: int = 0,
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
    **args: Any,
) -> int:
    """Defer `task_name(**args)` in the session's transaction and return the job id.

    `queue` defaults to the task's own queue. `lock` serialises jobs that share it; `queueing_lock` allows one
    waiting job per value (a second is refused with `JobAlreadyQueued`, and the caller's transaction stays usable).
    Arguments must be JSON values: ids as strings, never objects."""
    task = registered_tasks().get(task_name)
    if task is None:
        raise UnknownTask(f"no job task is named {task_name!r}; list its module in podsponsor.jobs.app.TASK_MODULES")
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        raise ValueError("scheduled_at must carry a time zone")
    try:
        args_json = json.dumps(args)
    except TypeError as exc:
        raise TypeError(f"arguments of {task_name} must be JSON values (pass ids as strings): {exc}") from exc
    try:
        async with session.begin_nested():
            return await repository.defer(
                session,
                queue=queue or task.queue,
                task=task_name,
                priority=priority,
                lock=lock,
                queueing_lock=queueing_lock,
                args_json=args_json,
                scheduled_at=scheduled_at,
            )
    except IntegrityError as exc:
        if queueing_lock is not None and "queueing_lock" in str(exc.orig):
            raise JobAlreadyQueued(
                f"a {task_name} job with queueing lock {queueing_lock!r} is already waiting",
                task=task_name,
                queueing_lock=queueing_lock,
            ) from exc
        raise
