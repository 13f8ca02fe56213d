"""Counting jobs: every hour each tenant's today and yesterday are counted again (hits keep arriving, and rolling
windows reach across midnight); log imports and recount requests queue the days they affect."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.tenancy import tenant_transaction
from podsponsor.jobs.app import app
from podsponsor.jobs.enqueue import JobAlreadyQueued, enqueue
from podsponsor.jobs.tenants import for_each_tenant
from podsponsor.measurement import count_repository, counting_job

log = logging.getLogger(__name__)


async def queue_recent_days(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Queue today's and yesterday's counts for a tenant that had requests since the day before yesterday."""
    today = datetime.now(UTC).date()
    since = datetime.combine(today - timedelta(days=2), time(), tzinfo=UTC)
    if not await count_repository.has_requests(session, tenant_id, since, datetime.now(UTC) + timedelta(minutes=5)):
        return
    for day in (today - timedelta(days=1), today):
        try:
            await enqueue(
                session,
                counting_job.COUNT_TASK,
                queueing_lock=f"count:{tenant_id}:{day.isoformat()}",
                lock=f"count:{tenant_id}:{day.isoformat()}",
                tenant_id=str(tenant_id),
                day=day.isoformat(),
                trigger="schedule",
            )
        except JobAlreadyQueued:
            continue


@app.periodic(cron="7 * * * *")
@app.task(name="measurement.queue_recent_counts")
async def queue_recent_counts(timestamp: int) -> None:
    tenants = await for_each_tenant(queue_recent_days)
    log.info("queued recent counts", extra={"tenants": len(tenants)})


@app.task(name=counting_job.COUNT_TASK, queue="measurement")
async def count_day(tenant_id: str, day: str, trigger: str = "schedule") -> None:
    """A failed count is recorded as a failed run (the day keeps its previous counts) and the job fails, so the
    queue shows it and a retry can follow."""
    tenant, when = uuid.UUID(tenant_id), date.fromisoformat(day)
    try:
        async with tenant_transaction(tenant) as session:
            run = await counting_job.count_day(session, tenant, when, trigger=trigger)
    except Exception as exc:
        async with tenant_transaction(tenant) as session:
            await counting_job.record_failure(session, tenant, when, trigger, f"{type(exc).__name__}: {exc}")
        raise
    log.info("count finished", extra={"day": day, "downloads": run.downloads, "run_id": str(run.id)})
