"""Fail-closed tenancy: the tenant is set per transaction, never per connection.

`set_config(..., true)` is transaction-local, so a pooled connection cannot carry one tenant's setting into the
next request. Row-level security policies read the setting; with none set they match no row.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.engine import get_database

SET_TENANT = text("SELECT set_config('app.tenant_id', :tenant_id, true)")


async def set_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    await session.execute(SET_TENANT, {"tenant_id": str(tenant_id)})


@asynccontextmanager
async def tenant_transaction(tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
    """One transaction with the tenant set; commits on success, rolls back on error."""
    async with get_database().sessions() as session, session.begin():
        await set_tenant(session, tenant_id)
        yield session


@asynccontextmanager
async def unscoped_transaction() -> AsyncIterator[AsyncSession]:
    """A transaction with no tenant: tenant tables show no rows. Only SECURITY DEFINER functions reach across
    tenants from here (sign-in lookup, API key lookup, the worker's tenant list)."""
    async with get_database().sessions() as session, session.begin():
        yield session
