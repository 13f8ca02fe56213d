"""Every query of outbound webhooks: endpoints, the deliveries each event fans out to, claiming a due delivery for
sending (its row stays locked until the attempt's outcome commits), attempts and the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.db.paging import ordered, page_rows
from podsponsor.events.models import Event
from podsponsor.events.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from podsponsor.listing import Window

# One statement per recorded event: a pending delivery for each of the workspace's active endpoints that hears its
# type (or all types). With no endpoint it inserts nothing, through the (tenant_id, active) index.
FAN_OUT = text(
    """
    INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, message_id)
    SELECT e.tenant_id, gen_random_uuid(), e.id, :event_id, :message_id
    FROM webhook_endpoints e
    WHERE e.tenant_id = :tenant_id AND e.active AND e.event_types && ARRAY[CAST(:type AS varchar), '*']
    """
)
DUE = text("SELECT tenant_id, delivery_id FROM webhooks_due_deliveries(:now, :limit)")


async def add(session: AsyncSession, row: WebhookEndpoint | WebhookDelivery | WebhookAttempt) -> None:
    session.add(row)
    await session.flush()


async def add_deliveries_for(session: AsyncSession, event: Event, message_id: str) -> int:
    """How many deliveries the event fanned out to."""
    params = {"tenant_id": event.tenant_id, "event_id": event.id, "message_id": message_id, "type": event.type}
    result = cast(CursorResult[Any], await session.execute(FAN_OUT, params))
    return int(result.rowcount)


async def count_endpoints(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
    return int(await session.scalar(query) or 0)


async def get_endpoint(session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id)
    return cast(WebhookEndpoint | None, await session.scalar(query))


async def list_endpoints(
    session: AsyncSession, tenant_id: uuid.UUID, page: Window
) -> tuple[Sequence[WebhookEndpoint], int]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
    order = ordered(getattr(WebhookEndpoint, page.sort), page, nulls=False)
    return await page_rows(session, query, page, order, WebhookEndpoint.id)


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await session.delete(endpoint)
    await session.flush()


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, delivery) of every workspace's due deliveries, oldest due first: the sender has no tenant yet."""
    rows = await session.execute(DUE, {"now": now, "limit": limit})
    return [(row.tenant_id, row.delivery_id) for row in rows]


async def claim(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime
) -> tuple[WebhookDelivery, WebhookEndpoint, Event] | None:
    """The delivery, still pending and due, locked for this transaction; None when another sender holds it or it
    was sent meanwhile. The lock outlives the HTTP request: a sender that dies leaves the row pending, unlocked."""
    query = (
        select(WebhookDelivery, WebhookEndpoint, Event)
        .join(
            WebhookEndpoint,
            (WebhookEndpoint.tenant_id == WebhookDelivery.tenant_id)
            & (WebhookEndpoint.id == WebhookDelivery.endpoint_id),
        )
        .join(Event, (Event.tenant_id == WebhookDelivery.tenant_id) & (Event.id == WebhookDelivery.event_id))
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


async def reset_failure_streak(session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.tenant_id == tenant_id,
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.failure_streak != 0,
        )
        .values(failure_streak=0)
        .execution_options(synchronize_session=False)
    )


async def bump_failure_streak(session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> int:
    """One more delivery in a row gave up; the new streak (counted in the database, as senders run side by side)."""
    streak = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id)
        .values(failure_streak=WebhookEndpoint.failure_streak + 1)
        .returning(WebhookEndpoint.failure_streak)
        .execution_options(synchronize_session=False)
    )
    return int(streak or 0)


async def disable_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str, now: datetime
) -> bool:
    """Whether this call disabled it (False when it already was)."""
    disabled = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active)
        .values(active=False, disabled_at=now, disabled_reason=reason)
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    )
    return disabled is not None


async def fail_pending(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """End an endpoint's waiting deliveries. Those a sender holds right now are skipped: their attempt ends them."""
    waiting = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == "pending",
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id.in_(waiting))
        .values(status="failed", next_attempt_at=None, last_error=reason, replay_requested=False)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


async def list_deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, status: str | None, page: Window
) -> tuple[list[tuple[WebhookDelivery, str]], int]:
    """The endpoint's deliveries with their event types, newest first (or oldest first)."""
    where = [WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    order = WebhookDelivery.created_at.desc() if page.descending else WebhookDelivery.created_at.asc()
    query = (
        select(WebhookDelivery, Event.type)
        .join(Event, (Event.tenant_id == WebhookDelivery.tenant_id) & (Event.id == WebhookDelivery.event_id))
        .where(*where)
        .order_by(order, WebhookDelivery.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    rows = await session.execute(query)
    return [(row[0], row[1]) for row in rows], total


async def get_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
) -> tuple[WebhookDelivery, Event] | None:
    query = (
        select(WebhookDelivery, Event)
        .join(Event, (Event.tenant_id == WebhookDelivery.tenant_id) & (Event.id == WebhookDelivery.event_id))
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery_id)
    )
    if for_update:
        query = query.with_for_update(of=WebhookDelivery)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def list_attempts(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
) -> Sequence[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.tenant_id == tenant_id, WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.started_at, WebhookAttempt.number)
    )
    return rows.all()
