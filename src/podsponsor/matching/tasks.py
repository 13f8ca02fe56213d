"""The whole-workspace recalculation job: gather, score (off the event loop, reporting progress every half second
in its own short transactions so that the run's page and API can show it), store."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from typing import Final

from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import NotFound
from podsponsor.jobs.app import app
from podsponsor.matching import service

log = logging.getLogger(__name__)

PROGRESS_EVERY_S: Final = 0.5


async def run_tenant(tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
    try:
        async with tenant_transaction(tenant_id) as session:
            prepared = await service.prepare_tenant_run(session, tenant_id, run_id, datetime.now(UTC).date())
    except NotFound:
        log.info("match run gone before it started", extra={"run_id": str(run_id)})
        return
    if prepared is None:
        log.info("match run already completed", extra={"run_id": str(run_id)})
        return
    _, inputs, settings = prepared
    progress = service.Progress()
    scoring = asyncio.ensure_future(service.score_in_thread(inputs, settings, progress, settings.keep_per_entity))
    try:
        reported = -1
        while not scoring.done():
            await asyncio.wait({scoring}, timeout=PROGRESS_EVERY_S)
            if progress.scored != reported and not scoring.done():
                reported = progress.scored
                async with tenant_transaction(tenant_id) as session:
                    await service.record_progress(session, tenant_id, run_id, reported)
        pairs = scoring.result()
        async with tenant_transaction(tenant_id) as session:
            run = await service.complete_tenant_run(session, tenant_id, run_id, inputs, pairs)
    except Exception as exc:
        if not scoring.done():
            scoring.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await scoring
        async with tenant_transaction(tenant_id) as session:
            await service.fail_run(session, tenant_id, run_id, repr(exc))
        raise
    log.info(
        "matches recalculated",
        extra={
            "tenant_id": str(tenant_id),
            "run_id": str(run_id),
            "scored": run.pairs_scored,
            "stored": run.pairs_stored,
        },
    )


@app.task(name=service.TASK, queue="matching")
async def recalculate(tenant_id: str, run_id: str) -> None:
    await run_tenant(uuid.UUID(tenant_id), uuid.UUID(run_id))
