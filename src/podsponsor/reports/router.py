"""Campaign reports and their share links over REST, under /api/v1/reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.reports import exports, links, service
from podsponsor.reports.responses import PDF, public_base, report_file
from podsponsor.reports.schemas import (
    Paper,
    ReportFormat,
    ReportOut,
    ShareLinkCreatedOut,
    ShareLinkIn,
    ShareLinkOut,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Reader = Annotated[Subject, Depends(require(Permission.SALES_READ))]
Writer = Annotated[Subject, Depends(require(Permission.SALES_WRITE))]
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, exports.CSV_MEDIA_TYPE: {}, exports.XLSX_MEDIA_TYPE: {}, PDF: {}},
        "description": "the report: JSON (the schema below), or a file to download",
    }
}


@router.get(
    "/campaigns/{campaign_id}",
    response_model=ReportOut,
    responses=FILES,
    summary="A campaign's report: delivery, pacing, attribution and methodology, as JSON, CSV, XLSX or PDF",
)
async def campaign_report(
    campaign_id: uuid.UUID,
    subject: Reader,
    format: Annotated[ReportFormat, Query(description="json, csv (the delivery table), xlsx or pdf")] = "json",
    paper: Annotated[Paper, Query(description="the PDF's paper size")] = "a4",
) -> Any:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await service.campaign_report(session, subject, campaign_id, today=datetime.now(UTC).date())
    if format == "json":
        return found
    return await report_file(found, format, paper)


@router.post(
    "/campaigns/{campaign_id}/share-links",
    response_model=ShareLinkCreatedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a read-only link to the campaign's report for the sponsor; its URL is shown only here",
)
async def create_share_link(
    campaign_id: uuid.UUID, body: ShareLinkIn, request: Request, subject: Writer
) -> ShareLinkCreatedOut:
    now = datetime.now(UTC)
    async with tenant_transaction(subject.tenant_id) as session:
        created = await links.create_link(session, subject, campaign_id, body, now=now)
        return ShareLinkCreatedOut.created(created.link, public_base(request) + created.path, now)


@router.get(
    "/campaigns/{campaign_id}/share-links",
    response_model=list[ShareLinkOut],
    summary="The campaign's share links, newest first (without their URLs)",
)
async def list_share_links(campaign_id: uuid.UUID, subject: Writer) -> list[ShareLinkOut]:
    now = datetime.now(UTC)
    async with tenant_transaction(subject.tenant_id) as session:
        return [ShareLinkOut.of(link, now) for link in await links.list_links(session, subject, campaign_id)]


@router.delete(
    "/share-links/{link_id}",
    response_model=ShareLinkOut,
    summary="Revoke a share link: it stops working at once (revoking again changes nothing)",
)
async def revoke_share_link(link_id: uuid.UUID, subject: Writer) -> ShareLinkOut:
    now = datetime.now(UTC)
    async with tenant_transaction(subject.tenant_id) as session:
        return ShareLinkOut.of(await links.revoke_link(session, subject, link_id, now=now), now)
