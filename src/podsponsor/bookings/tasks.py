"""Delivery jobs: every hour, ten minutes after the counting job has counted today and yesterday again, each
workspace with scheduled or active orders refreshes their delivery and moves them across flight boundaries."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.bookings import delivery
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.jobs.app import app
from podsponsor.jobs.enqueue import JobAlreadyQueued, enqueue
from podsponsor.jobs.tenants import for_each_tenant

log = logging.getLogger(__name__)

REFRESH_TASK: Final = "bookings.refresh_delivery"


async def queue_delivery_refresh(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Queue a tenant's refresh when it has orders to refresh (one waiting job per tenant)."""
    if not await delivery.has_live_ios(session, tenant_id):
        return
    try:
        await enqueue(
            session,
            REFRESH_TASK,
            queueing_lock=f"delivery:{tenant_id}",
            lock=f"delivery:{tenant_id}",
            tenant_id=str(tenant_id),
        )
    except JobAlreadyQueued:
        return


@app.periodic(cron="17 * * * *")
@app.task(name="bookings.queue_delivery_refreshes")
async def queue_delivery_refreshes(timestamp: int) -> None:
    tenants = await for_each_tenant(queue_delivery_refresh)
    log.info("queued delivery refreshes", extra={"tenants": len(tenants)})


@app.task(name=REFRESH_TASK, queue="bookings")
async def refresh_delivery(tenant_id: str) -> None:
    async with tenant_transaction(uuid.UUID(tenant_id)) as session:
        report = await delivery.refresh_tenant(session, uuid.UUID(tenant_id), now=datetime.now(UTC))
    log.info(
        "delivery refreshed",
        extra={
            "tenant_id": tenant_id,
            "orders": report.refreshed,
            "activated": len(report.activated),
            "completed": len(report.completed),
            "makegoods": len(report.makegoods),
        },
    )
