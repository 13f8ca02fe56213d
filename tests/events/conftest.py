"""Outbound webhook helpers: endpoints and events made through the services, deliveries read back from the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import text

from podsponsor.auth.subject import Subject, system_subject
from podsponsor.config import reset_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.events import service as events
from podsponsor.events import webhooks
from podsponsor.events.webhook_schemas import EndpointIn


@pytest.fixture
def local_receivers_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sender here runs in the test process: let it reach the test's receiver, as the app's server may."""
    monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
    reset_settings()
    yield
    monkeypatch.delenv("OUTBOUND_ALLOW_HOSTS")
    reset_settings()


def owner(tenant_id: uuid.UUID) -> Subject:
    return system_subject(tenant_id)


async def make_endpoint(tenant_id: uuid.UUID, url: str, types: Sequence[str] = ("*",)) -> tuple[uuid.UUID, str]:
    async with tenant_transaction(tenant_id) as session:
        data = EndpointIn(url=url, event_types=list(types), description="test receiver")
        endpoint, secret = await webhooks.create_endpoint(session, owner(tenant_id), data)
        return endpoint.id, secret


async def record_event(tenant_id: uuid.UUID, type: str = "podcast.created", **payload: Any) -> uuid.UUID:
    async with tenant_transaction(tenant_id) as session:
        event = await events.record(
            session, owner(tenant_id), type, subject_type="podcast", subject_id=uuid.uuid4(), payload=payload
        )
        return event.id


async def deliveries_of_event(tenant_id: uuid.UUID, event_id: uuid.UUID) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant_id) as session:
        rows = await session.execute(
            text("SELECT * FROM webhook_deliveries WHERE event_id = :event ORDER BY created_at"), {"event": event_id}
        )
        return [dict(row._mapping) for row in rows]


async def delivery(tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> dict[str, Any]:
    async with tenant_transaction(tenant_id) as session:
        row = (
            await session.execute(text("SELECT * FROM webhook_deliveries WHERE id = :id"), {"id": delivery_id})
        ).one()
        return dict(row._mapping)


async def attempts(tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant_id) as session:
        rows = await session.execute(
            text("SELECT * FROM webhook_attempts WHERE delivery_id = :id ORDER BY number"), {"id": delivery_id}
        )
        return [dict(row._mapping) for row in rows]


async def endpoint_row(tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> dict[str, Any]:
    async with tenant_transaction(tenant_id) as session:
        row = (await session.execute(text("SELECT * FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id})).one()
        return dict(row._mapping)
