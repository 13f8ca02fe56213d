"""Outbound webhooks over REST, under /api/v1/webhooks: endpoints, their delivery log, replays and test events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.events import webhooks as service
from podsponsor.events.event_types import EVENT_TYPES_BY_AREA
from podsponsor.events.webhook_models import WebhookEndpoint
from podsponsor.events.webhook_schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    EventTypesOut,
)
from podsponsor.listing import DEFAULT_LIMIT, Page, window

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
Admin = Annotated[Subject, Depends(require(Permission.WEBHOOKS_ADMIN))]


def _revealing(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate({**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret})


def _delivery(view: service.DeliveryView) -> DeliveryOut:
    return DeliveryOut.model_validate({**_fields(view.delivery), "event_type": view.event_type})


def _fields(delivery: object) -> dict[str, object]:
    return {name: getattr(delivery, name) for name in DeliveryOut.model_fields if name != "event_type"}


@router.get("/event-types", response_model=EventTypesOut, summary="The event types an endpoint may subscribe to")
async def event_types(subject: Admin) -> EventTypesOut:
    return EventTypesOut(by_area={area: list(types) for area, types in EVENT_TYPES_BY_AREA.items()})


@router.post(
    "/endpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointWithSecret,
    summary="Register an endpoint; its signing secret (whsec_…) is shown once, in this response",
)
async def create_endpoint(body: EndpointIn, subject: Admin) -> EndpointWithSecret:
    async with tenant_transaction(subject.tenant_id) as session:
        endpoint, secret = await service.create_endpoint(session, subject, body)
        return _revealing(endpoint, secret)


@router.get("/endpoints", response_model=Page[EndpointOut], summary="List the workspace's webhook endpoints")
async def list_endpoints(
    subject: Admin,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.ENDPOINT_SORTS}, '-' for descending")] = "created_at",
) -> Page[EndpointOut]:
    page = window(limit, offset, sort, service.ENDPOINT_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_endpoints(session, subject, page)
        return Page.of([EndpointOut.model_validate(row) for row in rows], total, page)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointOut, summary="One webhook endpoint")
async def get_endpoint(endpoint_id: uuid.UUID, subject: Admin) -> EndpointOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return EndpointOut.model_validate(await service.get_endpoint(session, subject, endpoint_id))


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change the address, the event types or the description; pause (active false) or resume",
)
async def update_endpoint(endpoint_id: uuid.UUID, body: EndpointPatch, subject: Admin) -> EndpointOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return EndpointOut.model_validate(await service.update_endpoint(session, subject, endpoint_id, body))


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an endpoint and its delivery log",
)
async def delete_endpoint(endpoint_id: uuid.UUID, subject: Admin) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_endpoint(session, subject, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="Replace the signing secret; the new one is shown once and signs every request from now on",
)
async def rotate_secret(endpoint_id: uuid.UUID, subject: Admin) -> EndpointWithSecret:
    async with tenant_transaction(subject.tenant_id) as session:
        endpoint, secret = await service.rotate_secret(session, subject, endpoint_id)
        return _revealing(endpoint, secret)


@router.post(
    "/endpoints/{endpoint_id}/enable",
    response_model=EndpointOut,
    summary="Deliver to a disabled endpoint again, with its failure streak reset",
)
async def enable_endpoint(endpoint_id: uuid.UUID, subject: Admin) -> EndpointOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return EndpointOut.model_validate(await service.enable_endpoint(session, subject, endpoint_id))


@router.post(
    "/endpoints/{endpoint_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send a webhook.test event to this endpoint; follow it at GET /api/v1/webhooks/deliveries/{id}",
)
async def send_test(endpoint_id: uuid.UUID, subject: Admin) -> DeliveryOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return _delivery(await service.send_test(session, subject, endpoint_id))


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The endpoint's delivery log, newest first",
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    subject: Admin,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description="'-created_at' (newest first) or 'created_at'")] = "-created_at",
) -> Page[DeliveryOut]:
    page = window(limit, offset, sort, service.DELIVERY_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_deliveries(session, subject, endpoint_id, delivery_status, page)
        return Page.of([_delivery(row) for row in rows], total, page)


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="One delivery: its body and every attempt",
)
async def get_delivery(delivery_id: uuid.UUID, subject: Admin) -> DeliveryDetail:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await service.get_delivery(session, subject, delivery_id)
        return DeliveryDetail.model_validate(
            {
                **_fields(found.delivery),
                "event_type": found.event.type,
                "body": service.message(found.event),
                "attempt_log": [AttemptOut.model_validate(a) for a in found.attempts],
            }
        )


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send a delivery again now, with the same webhook-id",
)
async def replay(delivery_id: uuid.UUID, subject: Admin) -> DeliveryOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return _delivery(await service.replay(session, subject, delivery_id))
