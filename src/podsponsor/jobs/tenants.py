"""Acting for every tenant: the one way a job crosses tenants, one tenant-scoped transaction at a time."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction

log = logging.getLogger(__name__)

TenantStep = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]


class TenantStepsFailed(RuntimeError):
    def __init__(self, failed: list[uuid.UUID]) -> None:
        super().__init__(f"the step failed for {len(failed)} tenant(s): {', '.join(str(t) for t in failed)}")
        self.failed = failed


async def for_each_tenant(step: TenantStep) -> list[uuid.UUID]:
    """Run `step(session, tenant_id)` once per tenant, each in its own transaction scoped to that tenant.

    A failing tenant is rolled back and logged, and the others still run; the job then fails with
    `TenantStepsFailed` naming them, so a retry is visible. Returns the tenants visited.
    A typical step enqueues the tenant's own job: `enqueue(session, "domain.action", tenant_id=str(tenant_id))`."""
    async with unscoped_transaction() as session:
        tenant_ids = await auth.tenant_ids(session)
    failed: list[uuid.UUID] = []
    for tenant_id in tenant_ids:
        try:
            async with tenant_transaction(tenant_id) as session:
                await step(session, tenant_id)
        except Exception:  # one tenant's fault must not starve every later tenant
            log.exception("tenant step failed", extra={"tenant_id": str(tenant_id)})
            failed.append(tenant_id)
    if failed:
        raise TenantStepsFailed(failed)
    return tenant_ids
