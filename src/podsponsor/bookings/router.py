from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status
from fastapi.responses import JSONResponse

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import service
from podsponsor.bookings.exceptions import IdempotencyKeyMissing
from podsponsor.bookings.schemas import AdUnitIn, AdUnitOut, AdUnitPatch, IoIn, IoOut, IoPatch, IoQuery, IoStatus
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.listing import DEFAULT_LIMIT, Page, window

router = APIRouter(prefix="/api/v1", tags=["bookings"])
# Insertion orders are the bookings feature: switching it off hides them. Ad units are a show's rate card and stay.
Bookings = [Depends(feature("ENABLE_IO_BOOKINGS"))]
Reader = Annotated[Subject, Depends(require(Permission.BOOKINGS_READ))]
Writer = Annotated[Subject, Depends(require(Permission.BOOKINGS_WRITE))]
REPLAYED = "Idempotent-Replayed"


@router.post(
    "/podcasts/{podcast_id}/ad-units",
    status_code=status.HTTP_201_CREATED,
    response_model=AdUnitOut,
    summary="Add an ad unit to a show (its rate card CPM defaults from public benchmarks)",
)
async def create_ad_unit(podcast_id: uuid.UUID, body: AdUnitIn, subject: Writer) -> AdUnitOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return AdUnitOut.model_validate(await service.create_ad_unit(session, subject, podcast_id, body))


@router.get("/podcasts/{podcast_id}/ad-units", response_model=Page[AdUnitOut], summary="A show's ad units")
async def list_ad_units(
    podcast_id: uuid.UUID,
    subject: Reader,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.AD_UNIT_SORTS}, '-' for descending")] = "created_at",
) -> Page[AdUnitOut]:
    page = window(limit, offset, sort, service.AD_UNIT_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_ad_units(session, subject, podcast_id, page)
        return Page.of([AdUnitOut.model_validate(r) for r in rows], total, page)


@router.get("/ad-units/{ad_unit_id}", response_model=AdUnitOut, summary="One ad unit")
async def get_ad_unit(ad_unit_id: uuid.UUID, subject: Reader) -> AdUnitOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return AdUnitOut.model_validate(await service.get_ad_unit(session, subject, ad_unit_id))


@router.patch("/ad-units/{ad_unit_id}", response_model=AdUnitOut, summary="Change an ad unit")
async def update_ad_unit(ad_unit_id: uuid.UUID, body: AdUnitPatch, subject: Writer) -> AdUnitOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return AdUnitOut.model_validate(await service.update_ad_unit(session, subject, ad_unit_id, body))


@router.delete(
    "/ad-units/{ad_unit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an ad unit (soft); refused while live IOs use it",
)
async def delete_ad_unit(ad_unit_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_ad_unit(session, subject, ad_unit_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/io",
    dependencies=Bookings,
    status_code=status.HTTP_201_CREATED,
    response_model=IoOut,
    responses={400: {"description": "no Idempotency-Key"}},
    summary="Book an insertion order (send an Idempotency-Key; a retry with it answers the first response)",
)
async def create_io(
    body: IoIn,
    subject: Writer,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="e.g. a UUID, new for every new order")
    ] = None,
) -> Response:
    if idempotency_key is None:
        raise IdempotencyKeyMissing(
            "send an Idempotency-Key header (a new UUID per order), so a retry cannot book twice",
            errors=[{"field": "Idempotency-Key", "value": None, "reason": "required"}],
        )
    async with tenant_transaction(subject.tenant_id) as session:
        answer = await service.book_io(session, subject, body, idempotency_key)
    headers = {REPLAYED: "true"} if answer.replayed else {}
    if answer.io_id is not None:
        headers["Location"] = f"/api/v1/io/{answer.io_id}"
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.get("/io", dependencies=Bookings, response_model=Page[IoOut], summary="List insertion orders")
async def list_ios(
    subject: Reader,
    io_status: Annotated[
        list[IoStatus], Query(alias="status", description="statuses to include; repeat for several")
    ] = [],  # noqa: B006
    sponsor_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    podcast_id: uuid.UUID | None = None,
    start: Annotated[date | None, Query(description="orders whose flight ends on or after this day")] = None,
    end: Annotated[date | None, Query(description="orders whose flight starts on or before this day")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.IO_SORTS}, '-' for descending")] = "-created_at",
) -> Page[IoOut]:
    page = window(limit, offset, sort, service.IO_SORTS, get_settings().page_size_max)
    where = IoQuery(io_status, sponsor_id, campaign_id, podcast_id, start, end)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_ios(session, subject, where, page)
        return Page.of([IoOut.of(r, subject) for r in rows], total, page)


@router.get("/io/{io_id:uuid}", dependencies=Bookings, response_model=IoOut, summary="One insertion order")
async def get_io(io_id: uuid.UUID, subject: Reader) -> IoOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return IoOut.of(await service.get_io(session, subject, io_id), subject)


@router.patch(
    "/io/{io_id:uuid}",
    dependencies=Bookings,
    response_model=IoOut,
    summary="Change an insertion order (everything while scheduled, a few fields while active, nothing after)",
)
async def update_io(io_id: uuid.UUID, body: IoPatch, subject: Writer) -> IoOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return IoOut.of(await service.update_io(session, subject, io_id, body), subject)


@router.post(
    "/io/{io_id:uuid}/cancel",
    dependencies=Bookings,
    response_model=IoOut,
    summary="Cancel an insertion order before it completes; its episode slots are released",
)
async def cancel_io(io_id: uuid.UUID, subject: Writer) -> IoOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return IoOut.of(await service.cancel_io(session, subject, io_id), subject)
