"""Periodic upkeep of the queue itself: finished jobs are pruned daily so the jobs table does not grow forever, and
the jobs of dead workers are put back in the queue every minute."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from podsponsor.config import get_settings
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.jobs import repository, stalled
from podsponsor.jobs.app import app

log = logging.getLogger(__name__)
# Short transactions: a large backlog is deleted in slices, never holding locks across the whole table.
PRUNE_BATCH = 5000


async def prune_finished_jobs(retention_days: int, *, batch: int = PRUNE_BATCH) -> int:
    """Delete succeeded and failed jobs whose last event is older than `retention_days`; the number deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    total = 0
    while True:
        async with unscoped_transaction() as session:
            deleted = await repository.delete_finished(session, cutoff, batch)
        total += deleted
        if deleted < batch:
            break
    log.info("pruned finished jobs", extra={"deleted": total, "retention_days": retention_days})
    return total


@app.periodic(cron="17 3 * * *")
@app.task(name="jobs.prune_finished")
async def prune_finished(timestamp: int) -> None:
    await prune_finished_jobs(get_settings().job_retention_days)


# Without `lock`: a recovery job of a dead worker would hold the lock, and no later recovery could ever run.
@app.periodic(cron="* * * * *")
@app.task(name="jobs.recover_stalled", queueing_lock="jobs.recover_stalled")
async def recover_stalled(timestamp: int) -> None:
    await stalled.recover_stalled_jobs(get_settings().job_stalled_timeout_seconds)
