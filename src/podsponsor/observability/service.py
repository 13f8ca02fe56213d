from __future__ import annotations

from typing import Any

from procrastinate.jobs import Status

from podsponsor.db.engine import get_database
from podsponsor.db.migrate import head_revision
from podsponsor.db.tenancy import unscoped_transaction
from podsponsor.observability import repository
from podsponsor.observability.metrics import JOBS, POOL


async def readiness() -> dict[str, Any]:
    head = head_revision()
    try:
        async with unscoped_transaction() as session:
            current = await repository.migration_version(session)
    except Exception as exc:  # any failure to reach the database means "not ready", with the reason
        return {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}
    at_head = current == head
    return {"status": "ready" if at_head else "migrating", "database": "ok", "migration": current, "head": head}


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
