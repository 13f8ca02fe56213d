"""Feed refresh jobs: every five minutes the due shows are queued; each refresh runs as its own job."""

from __future__ import annotations

import logging
import uuid

from podsponsor.auth.subject import system_subject
from podsponsor.catalog import feed_refresh, ingest
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.errors import AppError, NotFound
from podsponsor.jobs.app import app
from podsponsor.jobs.enqueue import JobAlreadyQueued, enqueue

log = logging.getLogger(__name__)
DUE_BATCH = 500  # shows queued per tick; the rest wait five minutes, so a backlog drains without a burst


async def queue_due_refreshes(limit: int = DUE_BATCH) -> int:
    """Queue one refresh job per due show (at most one waiting per show); how many were queued."""
    queued = 0
    async with unscoped_transaction() as session:
        for tenant_id, podcast_id in await ingest.due_refreshes(session, limit):
            try:
                await enqueue(
                    session,
                    "catalog.refresh_feed",
                    queueing_lock=f"feed:{podcast_id}",
                    lock=f"feed:{podcast_id}",
                    tenant_id=str(tenant_id),
                    podcast_id=str(podcast_id),
                )
                queued += 1
            except JobAlreadyQueued:
                continue
    return queued


@app.periodic(cron="*/5 * * * *")
@app.task(name="catalog.queue_due_refreshes")
async def queue_due_refreshes_job(timestamp: int) -> None:
    queued = await queue_due_refreshes()
    log.info("queued feed refreshes", extra={"queued": queued})


@app.task(name="catalog.refresh_feed", queue="feeds")
async def refresh_feed(tenant_id: str, podcast_id: str) -> None:
    """A failed fetch is already stored on the show (and retried at its next interval), so the job ends quietly."""
    subject = system_subject(uuid.UUID(tenant_id))
    try:
        report = await feed_refresh.refresh_show(subject, uuid.UUID(podcast_id))
    except NotFound:
        return
    except AppError as exc:
        log.info("feed refresh failed", extra={"podcast_id": podcast_id, "reason": exc.detail})
        return
    log.info(
        "feed refreshed",
        extra={
            "podcast_id": podcast_id,
            "created": report.episodes_created,
            "updated": report.episodes_updated,
            "not_modified": report.not_modified,
        },
    )
