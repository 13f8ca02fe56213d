"""Tenants made through the identity service, and jobs read back from procrastinate's own tables."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from podsponsor.auth import service as auth
from podsponsor.auth.schemas import SignupIn
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction

PASSWORD = "correct horse battery staple"


async def new_tenant() -> uuid.UUID:
    tenant_id = uuid.uuid4()
    tag = tenant_id.hex[:8]
    data = SignupIn(
        workspace_name=f"Jobs {tag}", workspace_slug=f"jobs-{tag}", email=f"o-{tag}@example.com", password=PASSWORD
    )
    async with tenant_transaction(tenant_id) as session:
        await auth.signup(session, tenant_id, data)
    return tenant_id


async def jobs_with(marker: str) -> list[dict[str, Any]]:
    async with unscoped_transaction() as session:
        rows = await session.execute(
            text(
                "SELECT id, task_name, queue_name, args, status::text AS status, queueing_lock "
                "FROM procrastinate_jobs WHERE args->>'marker' = :marker ORDER BY id"
            ),
            {"marker": marker},
        )
        return [dict(row._mapping) for row in rows]


async def job_status(job_id: int) -> str | None:
    async with unscoped_transaction() as session:
        value = await session.scalar(text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id})
        return str(value) if value is not None else None


async def events_with(tenant_id: uuid.UUID, marker: str) -> int:
    async with tenant_transaction(tenant_id) as session:
        count = await session.scalar(
            text("SELECT count(*) FROM events WHERE type = 'test.job_ran' AND payload->>'marker' = :marker"),
            {"marker": marker},
        )
        return int(count or 0)
