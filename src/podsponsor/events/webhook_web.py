"""Settings → Webhooks (owners and admins): the endpoints with a form to add one, an endpoint's page with its
delivery log and actions (test, new secret, pause, enable, delete), and a delivery's page with every attempt and a
Replay button. A secret is shown once, on the page that answers the form that made it, never after a redirect."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Final, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError
from podsponsor.events import webhooks as service
from podsponsor.events.event_types import ALL_TYPES, EVENT_TYPES_BY_AREA
from podsponsor.events.webhook_models import WebhookEndpoint
from podsponsor.events.webhook_schemas import DeliveryStatus, EndpointIn, EndpointPatch
from podsponsor.listing import window
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields, form_list, page_number, pager, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
Admin = Annotated[Subject, Depends(require_page(Permission.WEBHOOKS_ADMIN))]
PAGE: Final = "/settings/webhooks"
ENDPOINTS_SHOWN: Final = 50
DELIVERIES_PER_PAGE: Final = 25
STATUSES: Final[tuple[str, ...]] = get_args(DeliveryStatus)


def _typed(endpoint: WebhookEndpoint) -> dict[str, str]:
    return {"url": endpoint.url, "description": endpoint.description}


async def _list_page(
    request: Request,
    subject: Subject,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    page = window(ENDPOINTS_SHOWN, 0, "created_at", service.ENDPOINT_SORTS, ENDPOINTS_SHOWN)
    async with tenant_transaction(subject.tenant_id) as session:
        endpoints, total = await service.list_endpoints(session, subject, page)
    return render(
        request,
        "events/webhooks.html",
        status,
        endpoints=endpoints,
        total=total,
        limit=service.MAX_ENDPOINTS,
        areas=EVENT_TYPES_BY_AREA,
        all_types=ALL_TYPES,
        chosen=set(chosen or []),
        values=values or {},
        errors=errors or {},
        **extra,
    )


@router.get(PAGE, response_class=HTMLResponse)
async def endpoints_page(request: Request, subject: Admin) -> Response:
    return await _list_page(request, subject)


@router.post(PAGE, response_class=HTMLResponse)
async def create_endpoint(request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    chosen = await form_list(request, "event_types")
    try:
        data = EndpointIn.model_validate(
            {"url": values.get("url", ""), "event_types": chosen, "description": values.get("description", "")}
        )
        async with tenant_transaction(subject.tenant_id) as session:
            endpoint, secret = await service.create_endpoint(session, subject, data)
    except ValidationError as exc:
        return await _list_page(request, subject, values, chosen, validation_errors(exc), 422)
    except AppError as exc:
        return await _list_page(request, subject, values, chosen, app_errors(exc), exc.status)
    return await _list_page(request, subject, status=201, revealed=endpoint, secret=secret)


async def _endpoint_page(
    request: Request,
    subject: Subject,
    endpoint_id: uuid.UUID,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    secret: str | None = None,
) -> Response:
    shown_status = request.query_params.get("status")
    only = shown_status if shown_status in STATUSES else None
    number = page_number(request.query_params.get("page"))
    page = window(DELIVERIES_PER_PAGE, (number - 1) * DELIVERIES_PER_PAGE, "-created_at", service.DELIVERY_SORTS, 100)
    async with tenant_transaction(subject.tenant_id) as session:
        endpoint = await service.get_endpoint(session, subject, endpoint_id)
        deliveries, total = await service.list_deliveries(session, subject, endpoint.id, only, page)
    return render(
        request,
        "events/webhook_endpoint.html",
        status,
        endpoint=endpoint,
        deliveries=deliveries,
        pager=pager(request, number, DELIVERIES_PER_PAGE, total),
        statuses=STATUSES,
        shown_status=only,
        areas=EVENT_TYPES_BY_AREA,
        all_types=ALL_TYPES,
        chosen=set(chosen if chosen is not None else endpoint.event_types),
        values=values or _typed(endpoint),
        errors=errors or {},
        secret=secret,
    )


@router.get(PAGE + "/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(endpoint_id: str, request: Request, subject: Admin) -> Response:
    return await _endpoint_page(request, subject, parse_id(endpoint_id, "webhook endpoint"))


@router.post(PAGE + "/{endpoint_id}", response_class=HTMLResponse)
async def update_endpoint(endpoint_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(endpoint_id, "webhook endpoint")
    values = await form_fields(request)
    chosen = await form_list(request, "event_types")
    try:
        data = EndpointPatch.model_validate(
            {"url": values.get("url", ""), "event_types": chosen, "description": values.get("description", "")}
        )
        async with tenant_transaction(subject.tenant_id) as session:
            await service.update_endpoint(session, subject, found_id, data)
    except ValidationError as exc:
        return await _endpoint_page(request, subject, found_id, values, chosen, validation_errors(exc), 422)
    except AppError as exc:
        if exc.status == 404:
            raise
        return await _endpoint_page(request, subject, found_id, values, chosen, app_errors(exc), exc.status)
    return _back(found_id, "The endpoint is saved.")


@router.post(PAGE + "/{endpoint_id}/rotate", response_class=HTMLResponse)
async def rotate_secret(endpoint_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(endpoint_id, "webhook endpoint")
    async with tenant_transaction(subject.tenant_id) as session:
        _, secret = await service.rotate_secret(session, subject, found_id)
    return await _endpoint_page(request, subject, found_id, secret=secret)


@router.post(PAGE + "/{endpoint_id}/enable", response_class=HTMLResponse)
async def enable_endpoint(endpoint_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(endpoint_id, "webhook endpoint")
    async with tenant_transaction(subject.tenant_id) as session:
        await service.enable_endpoint(session, subject, found_id)
    return _back(found_id, "The endpoint is enabled: events from now on are delivered to it.")


@router.post(PAGE + "/{endpoint_id}/disable", response_class=HTMLResponse)
async def disable_endpoint(endpoint_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(endpoint_id, "webhook endpoint")
    async with tenant_transaction(subject.tenant_id) as session:
        await service.update_endpoint(session, subject, found_id, EndpointPatch(active=False))
    return _back(found_id, "The endpoint is disabled: nothing is delivered to it until you enable it.")


@router.post(PAGE + "/{endpoint_id}/test", response_class=HTMLResponse)
async def send_test(endpoint_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(endpoint_id, "webhook endpoint")
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            view = await service.send_test(session, subject, found_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        return _back(found_id, exc.detail[:1].upper() + exc.detail[1:] + ".", "error")
    response = redirect(f"{PAGE}/deliveries/{view.delivery.id}")
    set_notice(response, "A webhook.test event is on its way; this page shows how it went.")
    return response


@router.post(PAGE + "/{endpoint_id}/delete", response_class=HTMLResponse)
async def delete_endpoint(endpoint_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(endpoint_id, "webhook endpoint")
    async with tenant_transaction(subject.tenant_id) as session:
        endpoint = await service.get_endpoint(session, subject, found_id)
        url = endpoint.url
        await service.delete_endpoint(session, subject, found_id)
    response = redirect(PAGE)
    set_notice(response, f"The endpoint {url} is deleted, with its delivery log.")
    return response


@router.get(PAGE + "/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery_page(delivery_id: str, request: Request, subject: Admin) -> Response:
    found_id = parse_id(delivery_id, "webhook delivery")
    async with tenant_transaction(subject.tenant_id) as session:
        found = await service.get_delivery(session, subject, found_id)
    body = json.dumps(service.message(found.event), indent=2, ensure_ascii=False, default=str)
    return render(request, "events/webhook_delivery.html", found=found, body=body)


@router.post(PAGE + "/deliveries/{delivery_id}/replay", response_class=HTMLResponse)
async def replay(delivery_id: str, request: Request, subject: Admin) -> Response:
    await verify_csrf(request)
    found_id = parse_id(delivery_id, "webhook delivery")
    try:
        async with tenant_transaction(subject.tenant_id) as session:
            await service.replay(session, subject, found_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        response = redirect(f"{PAGE}/deliveries/{found_id}")
        set_notice(response, exc.detail[:1].upper() + exc.detail[1:] + ".", "error")
        return response
    response = redirect(f"{PAGE}/deliveries/{found_id}")
    set_notice(response, "The delivery is queued to be sent again, with the same webhook-id.")
    return response


def _back(endpoint_id: uuid.UUID, message: str, kind: str = "ok") -> Response:
    response = redirect(f"{PAGE}/{endpoint_id}")
    set_notice(response, message, kind)
    return response
