"""IO documents (PDF) and the workspace's bookings settings, under /api/v1."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import documents
from podsponsor.bookings import settings as bookings_settings
from podsponsor.bookings.settings import BookingSettingsIn, BookingSettingsOut
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature

router = APIRouter(prefix="/api/v1", tags=["bookings"], dependencies=[Depends(feature("ENABLE_IO_BOOKINGS"))])
Reader = Annotated[Subject, Depends(require(Permission.BOOKINGS_READ))]
Admin = Annotated[Subject, Depends(require(Permission.TENANT_ADMIN))]
PDF = "application/pdf"
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {PDF: {}}, "description": "the PDF, to download"}}


def _public_base(request: Request) -> str:
    """Where listeners reach this service: PUBLIC_BASE_URL, else the address this request came to."""
    return get_settings().public_base_url or str(request.base_url)


def _attachment(content: bytes, filename: str) -> Response:
    # The document names the parties and prices: no shared cache may keep it.
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"}
    return Response(content, media_type=PDF, headers=headers)


# The path's ".pdf" suffix cannot be read as part of the id: the uuid converter matches the id exactly, so
# `/io/{id}.pdf` and `/io/{id}` never take each other's requests.
@router.get(
    "/io/{io_id:uuid}.pdf",
    response_class=Response,
    responses=PDF_RESPONSE,
    summary="The insertion order as a PDF to sign",
)
async def io_pdf(io_id: uuid.UUID, request: Request, subject: Reader) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        document = await documents.io_document(session, subject, io_id, base_url=_public_base(request))
    return _attachment(await documents.render_io(document), documents.io_filename(document))


@router.get(
    "/campaigns/{campaign_id:uuid}/io.pdf",
    response_class=Response,
    responses=PDF_RESPONSE,
    summary="Every insertion order of a campaign (but the cancelled) as one PDF, a summary first",
)
async def campaign_io_pdf(campaign_id: uuid.UUID, request: Request, subject: Reader) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        document = await documents.campaign_document(session, subject, campaign_id, base_url=_public_base(request))
    return _attachment(await documents.render_campaign(document), documents.campaign_filename(document))


@router.get("/bookings/settings", response_model=BookingSettingsOut, summary="The workspace's bookings settings")
async def get_booking_settings(subject: Reader) -> BookingSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return BookingSettingsOut.of(await bookings_settings.booking_settings(session, subject.tenant_id))


@router.patch(
    "/bookings/settings",
    response_model=BookingSettingsOut,
    summary="Change the accrual window, makegood tolerance, seller details or IO terms",
)
async def change_booking_settings(body: BookingSettingsIn, subject: Admin) -> BookingSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return BookingSettingsOut.of(await bookings_settings.update_settings(session, subject, body))
