"""The periodic refresh: due shows are queued once each, and a worker refreshes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from podsponsor.catalog.tasks import queue_due_refreshes
from podsponsor.config import reset_settings
from podsponsor.db.tenancy import tenant_transaction, unscoped_transaction
from podsponsor.jobs.app import run_worker
from tests.factories.feed_server import FeedServer, synthetic_feed
from tests.factories.identity import make_tenant


async def _make_due(tenant_id: str, podcast_id: str) -> None:
    async with tenant_transaction(uuid.UUID(tenant_id)) as session:
        await session.execute(
            text("UPDATE podcasts SET next_refresh_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(minutes=1), "id": podcast_id},
        )


async def _waiting_refreshes(podcast_id: str) -> int:
    async with unscoped_transaction() as session:
        return int(
            await session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'catalog.refresh_feed' "
                    "AND status = 'todo' AND args->>'podcast_id' = :id"
                ),
                {"id": podcast_id},
            )
            or 0
        )


@pytest.fixture
def local_feeds_allowed(monkeypatch: pytest.MonkeyPatch):
    """The worker here runs in the test process: let it reach the local feed server, as the app's server may."""
    monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
    reset_settings()
    yield
    monkeypatch.delenv("OUTBOUND_ALLOW_HOSTS")
    reset_settings()


async def test_due_shows_are_queued_once_and_refreshed_by_the_worker(
    db, server: str, feed_server: FeedServer, local_feeds_allowed: None
) -> None:
    tenant = make_tenant(server)
    url = feed_server.put("scheduled", synthetic_feed(3, title="Scheduled Show"))
    with tenant.client() as api:
        podcast_id = api.post("/api/v1/podcasts/import", json={"feed_url": url}).json()["podcast_id"]
        assert api.get(f"/api/v1/podcasts/{podcast_id}").json()["next_refresh_at"]
    assert await _waiting_refreshes(podcast_id) == 0
    await _make_due(tenant.id, podcast_id)
    assert await queue_due_refreshes() >= 1
    await queue_due_refreshes()
    assert await _waiting_refreshes(podcast_id) == 1
    feed_server.put("scheduled", synthetic_feed(5, title="Scheduled Show"))
    fetches_before = feed_server.hits("/live/scheduled")
    await run_worker(wait=False, queues=["feeds"])
    assert feed_server.hits("/live/scheduled") == fetches_before + 1
    with tenant.client() as api:
        show = api.get(f"/api/v1/podcasts/{podcast_id}").json()
        assert show["ingest_report"]["episodes_created"] == 2
        assert datetime.fromisoformat(show["next_refresh_at"]) > datetime.now(UTC) + timedelta(minutes=55)
        assert api.get("/api/v1/episodes", params={"podcast_id": podcast_id}).json()["total"] == 5
