"""The seller's side of campaign reports: the report page (the report as the sponsor will see it, its downloads, and
the share links), and the Report section the campaign delivery page loads with htmx. Readers of the campaign see
the report and its downloads; sellers (sales:write) also create and revoke share links, each link shown once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.reports import links, service
from podsponsor.reports import report as shown
from podsponsor.reports.responses import public_base
from podsponsor.reports.schemas import DEFAULT_LINK_DAYS, MAX_LINK_DAYS, ShareLinkCreatedOut, ShareLinkIn, ShareLinkOut
from podsponsor.sales import service as sales
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import form_fields, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
Reader = Annotated[Subject, Depends(require_page(Permission.SALES_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.SALES_WRITE))]
FORMATS = (("pdf", "PDF"), ("xlsx", "Excel (XLSX)"), ("csv", "CSV (delivery)"), ("json", "JSON"))


@router.get("/campaigns/{campaign_id}/report", response_class=HTMLResponse)
async def report_page(campaign_id: str, request: Request, subject: Reader) -> Response:
    return await _report_page(request, subject, parse_id(campaign_id, "campaign"))


@router.get("/campaigns/{campaign_id}/report/section", response_class=HTMLResponse)
async def report_section(campaign_id: str, request: Request, subject: Reader) -> Response:
    """The Report section of another campaign page: downloads and share links, without the report itself."""
    found_id = parse_id(campaign_id, "campaign")
    now = datetime.now(UTC)
    can_share = subject.can(Permission.SALES_WRITE)
    async with tenant_transaction(subject.tenant_id) as session:
        shared = await links.list_links(session, subject, found_id) if can_share else []
        if not can_share:
            await sales.get_campaign(session, subject, found_id)
    return render(
        request,
        "reports/_section.html",
        values={"expires_in_days": str(DEFAULT_LINK_DAYS)},
        **_section(found_id, [ShareLinkOut.of(link, now) for link in shared], can_share, on_report_page=False),
    )


@router.post("/campaigns/{campaign_id}/report/share-links", response_class=HTMLResponse)
async def create_share_link(campaign_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(campaign_id, "campaign")
    values = await form_fields(request)
    try:
        data = ShareLinkIn.model_validate(
            {"expires_in_days": values.get("expires_in_days") or DEFAULT_LINK_DAYS, "label": values.get("label", "")}
        )
    except ValidationError as exc:
        return await _report_page(request, subject, found_id, status=422, values=values, errors=validation_errors(exc))
    now = datetime.now(UTC)
    async with tenant_transaction(subject.tenant_id) as session:
        made = await links.create_link(session, subject, found_id, data, now=now)
    created = ShareLinkCreatedOut.created(made.link, public_base(request) + made.path, now)
    return await _report_page(request, subject, found_id, status=201, created=created)


@router.post("/campaigns/{campaign_id}/report/share-links/{link_id}/revoke", response_class=HTMLResponse)
async def revoke_share_link(campaign_id: str, link_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    found_id = parse_id(campaign_id, "campaign")
    async with tenant_transaction(subject.tenant_id) as session:
        link = await links.revoke_link(session, subject, parse_id(link_id, "share link"), now=datetime.now(UTC))
    response = redirect(f"/campaigns/{found_id}/report#share-links")
    named = f" “{link.label}”" if link.label else ""
    set_notice(response, f"The share link{named} is revoked: it no longer opens the report.")
    return response


async def _report_page(
    request: Request,
    subject: Subject,
    campaign_id: uuid.UUID,
    *,
    status: int = 200,
    created: ShareLinkCreatedOut | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    now = datetime.now(UTC)
    can_share = subject.can(Permission.SALES_WRITE)
    async with tenant_transaction(subject.tenant_id) as session:
        report = await service.campaign_report(session, subject, campaign_id, today=now.date())
        shared = await links.list_links(session, subject, campaign_id) if can_share else []
    section = _section(campaign_id, [ShareLinkOut.of(link, now) for link in shared], can_share, on_report_page=True)
    return render(
        request,
        "reports/campaign.html",
        status,
        report=report,
        charts=shown.report_charts(report),
        fallbacks=None,
        fmt=shown,
        created=created,
        values=values or {"expires_in_days": str(DEFAULT_LINK_DAYS)},
        errors=errors or {},
        **section,
    )


def _section(
    campaign_id: uuid.UUID, shared: list[ShareLinkOut], can_share: bool, *, on_report_page: bool
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "formats": FORMATS,
        "links": shared,
        "can_share": can_share,
        "on_report_page": on_report_page,
        "max_days": MAX_LINK_DAYS,
    }
