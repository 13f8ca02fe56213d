from __future__ import annotations

import asyncio
from typing import Any

from procrastinate.jobs import Status

from podsponsor.db.engine import get_database
from podsponsor.db.migrate import head_revision
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.observability import repository
from podsponsor.observability.metrics import JOBS, POOL

# A probe must answer: a database that accepts connections but never replies is "unavailable" after this long.
READY_TIMEOUT_SECONDS = 3.0


async def readiness() -> dict[str, Any]:
    head = head_revision()
    check = asyncio.ensure_future(_migration_version())
    done, _ = await asyncio.wait({check}, timeout=READY_TIMEOUT_SECONDS)
    if not done:
        # Cancelled but not awaited: its rollback would wait on the same silent connection.
        check.cancel()
        check.add_done_callback(_forget)
        return {"status": "unavailable", "database": "not answering", "error": "TimeoutError"}
    if (exc := check.exception()) is not None:  # any failure to reach the database means "not ready", with why
        return {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}
    current = check.result()
    at_head = current == head
    return {"status": "ready" if at_head else "migrating", "database": "ok", "migration": current, "head": head}


async def _migration_version() -> str | None:
    async with unscoped_transaction() as session:
        return await repository.migration_version(session)


def _forget(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def refresh_gauges() -> None:
    pool: Any = get_database().engine.pool
    for state, reader in (("checked_out", "checkedout"), ("idle", "checkedin"), ("overflow", "overflow")):
        value = getattr(pool, reader, None)
        if callable(value):
            POOL.labels(state).set(value())
    try:
        async with unscoped_transaction() as session:
            counts = await repository.job_counts(session)
    except Exception:  # metrics must render even while the database is away
        return
    for status in Status:
        JOBS.labels(status.value).set(counts.get(status.value, 0))
