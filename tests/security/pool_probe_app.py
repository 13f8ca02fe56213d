"""The app exactly as `podsponsor.app:build` serves it, plus one route for tests/security/test_pool_leak.py: what every
pooled connection of the process still carries once no request holds it.

Uvicorn factory: `uvicorn --factory tests.security.pool_probe_app:build`. With `SESSION_TENANT_ENV` set to "1" the
tenant is set at session level instead, the leak the probe must catch (its control).
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from podsponsor import app
from podsponsor.config import get_settings
from podsponsor.db import tenancy
from podsponsor.db.engine import get_database
from podsponsor.measurement.prefix import PrefixFirst

PROBE_PATH = "/__test__/pooled-connections"
SESSION_TENANT_ENV = "POOL_PROBE_SESSION_TENANT"

# Run in a transaction of its own on each connection, as the next request would see it: a transaction-local tenant
# is gone ('' once set, NULL if never), a session-level one is still there.
PROBE = text(
    "SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS tenant, "
    "(SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS backend_start"
)


async def pooled_connections(request: Request) -> JSONResponse:
    """Checks out as many connections as the pool holds, all at once, so that every pooled connection is read."""
    engine = get_database().engine
    size = get_settings().db_pool_size
    async with AsyncExitStack() as stack:
        connections = [await stack.enter_async_context(engine.connect()) for _ in range(size)]
        rows = [(await connection.execute(PROBE)).one() for connection in connections]
    return JSONResponse(
        {
            "pool_size": size,
            "connections": [
                {"pid": row.pid, "tenant": row.tenant, "backend_start": row.backend_start.isoformat()} for row in rows
            ],
        }
    )


def build() -> PrefixFirst:
    served = app.build()
    served.app.router.routes.insert(0, Route(PROBE_PATH, pooled_connections))
    if os.environ.get(SESSION_TENANT_ENV) == "1":
        tenancy.SET_TENANT = text("SELECT set_config('app.tenant_id', :tenant_id, false)")
    return served
