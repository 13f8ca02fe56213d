"""Attribution jobs: recalculating one campaign (asked for through the API, or queued every night for the campaigns
whose results can still change), and the nightly queueing itself."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import recalculate as recalculation
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import NotFound
from podsponsor.flags import service as flags
from podsponsor.jobs.app import app
from podsponsor.jobs.tenants import for_each_tenant

log = logging.getLogger(__name__)

FLAG: Final = "ENABLE_ATTRIBUTION"
# A conversion may still be credited up to 60 days (the longest lookback) after the last counted download, and a
# baked-in spot counts for its accrual window (30 days by default) after the flight: campaigns whose flights ended
# longer ago than that are settled and not recalculated every night.
SETTLED_AFTER: Final = timedelta(days=90)


async def queue_tenant_recalculations(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    if not await flags.is_enabled(session, tenant_id, FLAG):
        return
    today = datetime.now(UTC).date()
    for campaign_id in await recalculation.unsettled_campaigns(session, tenant_id, today - SETTLED_AFTER, today):
        await recalculation.queue(session, tenant_id, campaign_id, "schedule")


@app.periodic(cron="41 3 * * *")
@app.task(name="attribution.queue_recalculations")
async def queue_recalculations(timestamp: int) -> None:
    tenants = await for_each_tenant(queue_tenant_recalculations)
    log.info("queued attribution recalculations", extra={"tenants": len(tenants)})


@app.task(name=recalculation.TASK, queue="attribution")
async def recalculate(tenant_id: str, campaign_id: str, trigger: str = "api") -> None:
    tenant, campaign = uuid.UUID(tenant_id), uuid.UUID(campaign_id)
    now = datetime.now(UTC)
    try:
        async with tenant_transaction(tenant) as session:
            run = await recalculation.recalculate(session, tenant, campaign, now=now, trigger=trigger)
    except NotFound:
        log.info("attribution not recalculated: the campaign is gone", extra={"campaign_id": campaign_id})
        return
    except Exception as exc:
        async with tenant_transaction(tenant) as session:
            await recalculation.record_failure(session, tenant, campaign, now=now, trigger=trigger, error=repr(exc))
        raise
    log.info(
        "attribution recalculated",
        extra={"tenant_id": tenant_id, "campaign_id": campaign_id, "run_id": str(run.id), **run.stats["matched"]},
    )
