"""Outbound webhook rules: the endpoints a workspace registers, what each delivery carries, replays, test events and
disabling.

An endpoint's address must be https (plain http only for the hosts OUTBOUND_ALLOW_HOSTS names, i.e. test servers)
and must resolve to public addresses only, checked here and again when each request connects. Its signing secret is
shown once, when made or rotated, and stored sealed under the deployment's key. Events record only the endpoint's
host, never its full address (a query string may hold the receiver's own token).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor import outbound
from podsponsor.auth.subject import Subject
from podsponsor.errors import NotFound
from podsponsor.events import repository as event_repository
from podsponsor.events import service as events
from podsponsor.events import webhook_repository as repository
from podsponsor.events.models import Event
from podsponsor.events.webhook_exceptions import EndpointDisabled, EndpointLimitReached, WebhookAddressRefused
from podsponsor.events.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from podsponsor.events.webhook_queue import wake_sender
from podsponsor.events.webhook_schemas import EndpointIn, EndpointPatch
from podsponsor.events.webhook_signing import new_secret, seal_secret
from podsponsor.listing import Window

MAX_ENDPOINTS: Final = 50
ENDPOINT_SORTS: Final = ("created_at", "url")
DELIVERY_SORTS: Final = ("created_at",)
DISABLED_BY_USER: Final = "disabled by a user"
ENDED_BY_DISABLING: Final = "not sent: the endpoint was disabled"
TEST_MESSAGE: Final = "A test event from podsponsor: if you can read this, the endpoint receives webhooks."


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    event_type: str


@dataclass(frozen=True)
class DeliveryDetailView:
    delivery: WebhookDelivery
    event: Event
    endpoint: WebhookEndpoint
    attempts: Sequence[WebhookAttempt]


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message(event: Event) -> dict[str, Any]:
    """The body of every delivery of an event (Standard Webhooks' `type`, `timestamp`, `data`): the event's payload
    with the ids of what it is about; these ids win over a payload key of the same name."""
    data = {
        **event.payload,
        "event_id": str(event.id),
        "workspace_id": str(event.tenant_id),
        "subject_type": event.subject_type,
        "subject_id": str(event.subject_id) if event.subject_id else None,
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
    }
    return {"type": event.type, "timestamp": _utc_iso(event.at), "data": data}


def message_bytes(event: Event) -> bytes:
    return json.dumps(message(event), separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _refused(raw: str, reason: str) -> WebhookAddressRefused:
    return WebhookAddressRefused(
        f"the url cannot receive webhooks: {reason}", errors=[{"field": "url", "value": raw[:200], "reason": reason}]
    )


async def checked_url(raw: str) -> str:
    """The address, once it is certain to be one deliveries may go to; else a 422 naming the `url` field."""
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError):
        raise _refused(raw, "it is not a valid address") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _refused(raw, "give a full address such as https://example.com/hooks/podsponsor")
    if url.userinfo:
        raise _refused(raw, "put no user name or password in the address")
    if url.scheme == "http" and not outbound.is_allowlisted(raw):
        raise _refused(raw, "use https: deliveries carry your workspace's data")
    try:
        await outbound.check_destination(raw, label="webhook")
    except outbound.OutboundError as exc:
        raise _refused(raw, exc.reason) from None
    return raw


def _host(url: str) -> str:
    return httpx.URL(url).host


async def _record(session: AsyncSession, subject: Subject, kind: str, endpoint: WebhookEndpoint, **extra: Any) -> None:
    payload = {"host": _host(endpoint.url), **extra}
    await events.record(
        session, subject, kind, subject_type="webhook_endpoint", subject_id=endpoint.id, payload=payload
    )


async def create_endpoint(session: AsyncSession, subject: Subject, data: EndpointIn) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret in clear: the one time it is shown."""
    if await repository.count_endpoints(session, subject.tenant_id) >= MAX_ENDPOINTS:
        raise EndpointLimitReached(f"a workspace has at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
    url = await checked_url(data.url)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        tenant_id=subject.tenant_id,
        url=url,
        description=data.description,
        event_types=data.event_types,
        secret_encrypted=seal_secret(secret),
        created_by=subject.user_id,
    )
    await repository.add(session, endpoint)
    await _record(session, subject, "webhook.endpoint_created", endpoint, event_types=endpoint.event_types)
    return endpoint, secret


async def get_endpoint(session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, subject.tenant_id, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


async def list_endpoints(
    session: AsyncSession, subject: Subject, page: Window
) -> tuple[Sequence[WebhookEndpoint], int]:
    return await repository.list_endpoints(session, subject.tenant_id, page)


async def update_endpoint(
    session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID, data: EndpointPatch
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, subject, endpoint_id)
    changes = data.model_dump(exclude_unset=True, exclude={"active"})
    changes = {name: value for name, value in changes.items() if value is not None}
    if "url" in changes:
        changes["url"] = await checked_url(changes["url"])
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes:
        await session.flush()
        await _record(session, subject, "webhook.endpoint_updated", endpoint, fields=sorted(changes))
    if data.active is True and not endpoint.active:
        await enable_endpoint(session, subject, endpoint.id)
    elif data.active is False and endpoint.active:
        await disable_endpoint(session, subject, endpoint.tenant_id, endpoint.id, DISABLED_BY_USER)
    await session.refresh(endpoint)
    return endpoint


async def delete_endpoint(session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID) -> None:
    """Removes the endpoint with its delivery log."""
    endpoint = await get_endpoint(session, subject, endpoint_id)
    await _record(session, subject, "webhook.endpoint_deleted", endpoint)
    await repository.delete_endpoint(session, endpoint)


async def rotate_secret(session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID) -> tuple[WebhookEndpoint, str]:
    """A new secret signs every request from now on, retries of older deliveries included."""
    endpoint = await get_endpoint(session, subject, endpoint_id)
    secret = new_secret()
    endpoint.secret_encrypted = seal_secret(secret)
    await session.flush()
    await _record(session, subject, "webhook.secret_rotated", endpoint)
    return endpoint, secret


async def enable_endpoint(session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Deliveries resume for events from now on, with a clean failure streak; the ones that were ended by the
    disabling stay failed (replay them one by one)."""
    endpoint = await get_endpoint(session, subject, endpoint_id)
    was_disabled = not endpoint.active
    endpoint.active, endpoint.failure_streak = True, 0
    endpoint.disabled_at = endpoint.disabled_reason = None
    await session.flush()
    if was_disabled:
        await _record(session, subject, "webhook.endpoint_enabled", endpoint)
    return endpoint


async def disable_endpoint(
    session: AsyncSession, subject: Subject, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str
) -> bool:
    """Stop delivering to the endpoint and end its waiting deliveries; False when it was already disabled. Used by a
    user (pause) and by the sender (too many failures in a row)."""
    now = datetime.now(UTC)
    if not await repository.disable_endpoint(session, tenant_id, endpoint_id, reason, now):
        return False
    ended = await repository.fail_pending(session, tenant_id, endpoint_id, ENDED_BY_DISABLING, now)
    endpoint = await repository.get_endpoint(session, tenant_id, endpoint_id)
    if endpoint is not None:
        await session.refresh(endpoint)
        await _record(session, subject, "webhook.endpoint_disabled", endpoint, reason=reason, deliveries_ended=ended)
    return True


async def list_deliveries(
    session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID, status: str | None, page: Window
) -> tuple[list[DeliveryView], int]:
    endpoint = await get_endpoint(session, subject, endpoint_id)
    rows, total = await repository.list_deliveries(session, subject.tenant_id, endpoint.id, status, page)
    return [DeliveryView(delivery, event_type) for delivery, event_type in rows], total


async def get_delivery(session: AsyncSession, subject: Subject, delivery_id: uuid.UUID) -> DeliveryDetailView:
    found = await repository.get_delivery(session, subject.tenant_id, delivery_id)
    if found is None:
        raise NotFound("no such webhook delivery")
    delivery, event = found
    endpoint = await get_endpoint(session, subject, delivery.endpoint_id)
    attempts = await repository.list_attempts(session, subject.tenant_id, delivery.id)
    return DeliveryDetailView(delivery, event, endpoint, attempts)


async def replay(session: AsyncSession, subject: Subject, delivery_id: uuid.UUID) -> DeliveryView:
    """Send a delivery again now, with the same webhook-id. A finished one gets one attempt, logged as a replay; a
    waiting one just has its next attempt brought forward."""
    found = await repository.get_delivery(session, subject.tenant_id, delivery_id, for_update=True)
    if found is None:
        raise NotFound("no such webhook delivery")
    delivery, event = found
    endpoint = await get_endpoint(session, subject, delivery.endpoint_id)
    if not endpoint.active:
        raise EndpointDisabled("the endpoint is disabled: enable it first, then replay", endpoint_id=str(endpoint.id))
    if delivery.status != "pending":
        delivery.status, delivery.replay_requested = "pending", True
    delivery.next_attempt_at = datetime.now(UTC)
    await session.flush()
    await wake_sender(session)
    return DeliveryView(delivery, event.type)


async def send_test(session: AsyncSession, subject: Subject, endpoint_id: uuid.UUID) -> DeliveryView:
    """A `webhook.test` event delivered to this endpoint only, whatever it subscribed to."""
    endpoint = await get_endpoint(session, subject, endpoint_id)
    if not endpoint.active:
        raise EndpointDisabled("the endpoint is disabled: enable it first", endpoint_id=str(endpoint.id))
    event = Event(
        tenant_id=subject.tenant_id,
        type="webhook.test",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        actor_user_id=subject.user_id,
        payload={"message": TEST_MESSAGE, "host": _host(endpoint.url)},
    )
    await event_repository.add(session, event)
    delivery = WebhookDelivery(
        tenant_id=subject.tenant_id, endpoint_id=endpoint.id, event_id=event.id, message_id=events.message_id(event)
    )
    await repository.add(session, delivery)
    await wake_sender(session)
    return DeliveryView(delivery, event.type)
