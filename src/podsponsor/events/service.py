"""Record events in the caller's transaction, so an event exists exactly when its change does, and so do its
outbound webhook deliveries: one per active endpoint that subscribed to its type."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.events import repository, webhook_repository
from podsponsor.events.models import Event
from podsponsor.events.webhook_queue import wake_sender
from podsponsor.listing import Window


async def record(
    session: AsyncSession,
    subject: Subject,
    type: str,
    *,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    event = Event(
        tenant_id=subject.tenant_id,
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_user_id=subject.user_id,
        payload=payload or {},
    )
    await repository.add(session, event)
    if await webhook_repository.add_deliveries_for(session, event, message_id(event)):
        await wake_sender(session)
    return event


def message_id(event: Event) -> str:
    """The `webhook-id` of the event's deliveries: the same at every endpoint and on every attempt and replay."""
    return f"msg_{event.id.hex}"


async def list_events(
    session: AsyncSession,
    subject: Subject,
    types: list[str],
    since: datetime | None,
    until: datetime | None,
    page: Window,
) -> tuple[Sequence[Event], int]:
    return await repository.list_events(session, subject.tenant_id, types, since, until, page)
