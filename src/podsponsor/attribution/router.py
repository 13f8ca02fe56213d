"""Conversion sources over REST, under /api/v1, behind ENABLE_ATTRIBUTION."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from podsponsor.attribution import service
from podsponsor.attribution.models import ConversionSource
from podsponsor.attribution.schemas import (
    ConversionSourceCreated,
    ConversionSourceIn,
    ConversionSourceOut,
    ConversionSourcePatch,
    RotateSecretIn,
    SourceKind,
)
from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.listing import DEFAULT_LIMIT, Page, window

router = APIRouter(prefix="/api/v1", tags=["attribution"], dependencies=[Depends(feature(service.FLAG))])
Reader = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_READ))]
Writer = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_WRITE))]


def _endpoint_url(request: Request, source: ConversionSource) -> str | None:
    """Where the platform reaches this service: PUBLIC_BASE_URL, else the address this request came to."""
    path = service.endpoint_path(source.kind, source.token)
    if path is None:
        return None
    base = get_settings().public_base_url or str(request.base_url)
    return base.rstrip("/") + path


def _out(request: Request, source: ConversionSource) -> ConversionSourceOut:
    return ConversionSourceOut.of(source, _endpoint_url(request, source))


@router.post(
    "/conversion-sources",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversionSourceCreated,
    summary="Add a conversion source (a shop's webhooks, the pixel, the API, CSV uploads); its secret is shown once",
)
async def create_source(body: ConversionSourceIn, request: Request, subject: Writer) -> ConversionSourceCreated:
    async with tenant_transaction(subject.tenant_id) as session:
        source, secret = await service.create_source(session, subject, body)
        return ConversionSourceCreated.revealing(source, _endpoint_url(request, source), secret)


@router.get("/conversion-sources", response_model=Page[ConversionSourceOut], summary="List conversion sources")
async def list_sources(
    request: Request,
    subject: Reader,
    sponsor_id: uuid.UUID | None = None,
    kind: SourceKind | None = None,
    active: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.SOURCE_SORTS}, '-' for descending")] = "name",
) -> Page[ConversionSourceOut]:
    page = window(limit, offset, sort, service.SOURCE_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_sources(session, subject, sponsor_id, kind, active, page)
        return Page.of([_out(request, row) for row in rows], total, page)


@router.get(
    "/conversion-sources/{source_id}",
    response_model=ConversionSourceOut,
    summary="One conversion source and its health",
)
async def get_source(source_id: uuid.UUID, request: Request, subject: Reader) -> ConversionSourceOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return _out(request, await service.get_source(session, subject, source_id))


@router.patch(
    "/conversion-sources/{source_id}", response_model=ConversionSourceOut, summary="Rename, pause or resume a source"
)
async def update_source(
    source_id: uuid.UUID, body: ConversionSourcePatch, request: Request, subject: Writer
) -> ConversionSourceOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return _out(request, await service.update_source(session, subject, source_id, body))


@router.post(
    "/conversion-sources/{source_id}/rotate-secret",
    response_model=ConversionSourceCreated,
    summary="Replace a webhook source's secret; the new one is shown once",
)
async def rotate_secret(
    source_id: uuid.UUID, request: Request, subject: Writer, body: RotateSecretIn | None = None
) -> ConversionSourceCreated:
    async with tenant_transaction(subject.tenant_id) as session:
        source, secret = await service.rotate_secret(session, subject, source_id, body or RotateSecretIn())
        return ConversionSourceCreated.revealing(source, _endpoint_url(request, source), secret)


@router.delete(
    "/conversion-sources/{source_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a source that has no conversions yet (deactivate one that has)",
)
async def delete_source(source_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_source(session, subject, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
