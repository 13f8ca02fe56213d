"""The rollup of counted downloads stays equal to the downloads themselves through inserts, a day's replacement, an
update and deletes, under row-level security, as counting writes them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from tests.bookings.delivery_world import Show, downloads, rows, show
from tests.dashboards.world import TODAY
from tests.factories.identity import Tenant, make_tenant

ROLLED_UP = """
    SELECT day, podcast_id, episode_id, source_kind, downloads FROM dashboard_download_days
    WHERE tenant_id = :tenant ORDER BY day, episode_id, source_kind
"""
COUNTED = """
    SELECT day, podcast_id, episode_id, source_kind, count(*) AS downloads FROM downloads
    WHERE tenant_id = :tenant GROUP BY day, podcast_id, episode_id, source_kind ORDER BY day, episode_id, source_kind
"""


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server)


@pytest.fixture(scope="module")
def other(server: str) -> Tenant:
    return make_tenant(server)


async def _both(tenant_id: uuid.UUID) -> tuple[list[Any], list[Any]]:
    return (
        [tuple(r) for r in await rows(tenant_id, ROLLED_UP, tenant=tenant_id)],
        [tuple(r) for r in await rows(tenant_id, COUNTED, tenant=tenant_id)],
    )


async def _execute(tenant_id: uuid.UUID, statement: str, **params: Any) -> None:
    async with tenant_transaction(tenant_id) as session:
        await session.execute(text(statement), {"tenant": tenant_id, **params})


async def test_the_rollup_follows_every_change_to_the_downloads(db: Database, tenant: Tenant, other: Tenant) -> None:
    tenant_id = uuid.UUID(tenant.id)
    day = TODAY - timedelta(days=3)
    shows: Show = await show(tenant_id, [day, day])
    await downloads(tenant_id, shows, 0, day, 5)
    await downloads(tenant_id, shows, 0, day, 3)
    await downloads(tenant_id, shows, 0, day, 2, source="logs")
    await downloads(tenant_id, shows, 1, day + timedelta(days=1), 4)
    rolled, counted = await _both(tenant_id)
    assert rolled == counted
    assert [(r[2], r[3], r[4]) for r in rolled] == [
        (shows.episodes[0], "logs", 2),
        (shows.episodes[0], "prefix", 8),
        (shows.episodes[1], "prefix", 4),
    ]

    # Counting replaces a day: delete it, write it again.
    await _execute(tenant_id, "DELETE FROM downloads WHERE tenant_id = :tenant AND day = :day", day=day)
    await downloads(tenant_id, shows, 0, day, 6)
    rolled, counted = await _both(tenant_id)
    assert rolled == counted
    assert [r[4] for r in rolled] == [6, 4]

    await _execute(
        tenant_id,
        "UPDATE downloads SET source_kind = 'logs' WHERE tenant_id = :tenant AND id IN "
        "(SELECT id FROM downloads WHERE tenant_id = :tenant AND day = :day LIMIT 2)",
        day=day,
    )
    rolled, counted = await _both(tenant_id)
    assert rolled == counted
    assert [(r[3], r[4]) for r in rolled] == [("logs", 2), ("prefix", 4), ("prefix", 4)]

    await _execute(tenant_id, "DELETE FROM downloads WHERE tenant_id = :tenant")
    assert await _both(tenant_id) == ([], [])

    # The rollup is another tenant table under row-level security: another workspace reads none of it.
    await downloads(tenant_id, shows, 0, day, 1)
    seen = await rows(uuid.UUID(other.id), "SELECT count(*) FROM dashboard_download_days")
    assert seen[0][0] == 0
