"""The page a sponsor opens from a share link: one campaign's report, read-only, without signing in, with its PDF,
XLSX and CSV under the same link. Nothing on it leads into the app; it is not indexed, and the browser sends the
link (which holds the credential) to no other site. An expired link is a 410 page saying so, a revoked one a 410
page saying it was withdrawn, and anything else a 404 that names no workspace. Each opening of the page counts as
a view.

The link names no workspace: it is found by its token across workspaces (links.resolve), then the rest of the
request runs in one transaction with the link's workspace set, reading as the campaign's sponsor would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from podsponsor.auth.dependencies import public_route
from podsponsor.db.tenancy import set_tenant, unscoped_transaction
from podsponsor.errors import NotFound
from podsponsor.reports import links, service
from podsponsor.reports import report as shown
from podsponsor.reports.charts import Spec, fallback_svg
from podsponsor.reports.exceptions import ShareLinkExpired, ShareLinkGone
from podsponsor.reports.repository import LinkRef
from podsponsor.reports.responses import report_file
from podsponsor.reports.schemas import ReportOut
from podsponsor.web.render import TEMPLATES

router = APIRouter(tags=["pages"], include_in_schema=False)
PAGE: Final = links.SHARED_PATH + "/{token}"
SHARED_HEADERS: Final = {
    "X-Robots-Tag": "noindex, nofollow",
    # The address is the credential: no page or file of it may name it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}
DOWNLOADS: Final = (("pdf", "PDF"), ("xlsx", "Excel (XLSX)"), ("csv", "CSV (delivery)"))


@dataclass(frozen=True)
class Opened:
    link: LinkRef
    report: ReportOut


async def _open(token: str, *, count_view: bool) -> Opened:
    now = datetime.now(UTC)
    async with unscoped_transaction() as session:
        link = await links.resolve(session, token, now=now)
        await set_tenant(session, link.tenant_id)
        viewer = await links.viewer(session, link)
        report = await service.campaign_report(session, viewer, link.campaign_id, today=now.date())
        if count_view:
            await links.count_view(session, link, now=now)
    return Opened(link, report)


@router.get(PAGE, response_class=HTMLResponse, dependencies=[Depends(public_route)])
async def shared_page(token: str, request: Request) -> Response:
    try:
        opened = await _open(token, count_view=True)
    except (NotFound, ShareLinkGone) as exc:
        return _gone(request, exc)
    found = shown.report_charts(opened.report)
    # Drawn by the server as well, so the page shows its charts where the sponsor's browser runs no script.
    fallbacks = {
        "pacing": await _drawn(found.pacing),
        "attribution": await _drawn(found.attribution),
        "models": await _drawn(found.models),
    }
    context = {
        "report": opened.report,
        "charts": found,
        "fallbacks": fallbacks,
        "fmt": shown,
        "token": token,
        "downloads": DOWNLOADS,
        "expires_at": opened.link.expires_at.astimezone(UTC),
    }
    return TEMPLATES.TemplateResponse(request, "reports/shared.html", context, headers=SHARED_HEADERS)


@router.get(PAGE + "/report.{extension}", dependencies=[Depends(public_route)])
async def shared_file(token: str, extension: str, request: Request) -> Response:
    if extension not in {"pdf", "xlsx", "csv"}:
        return _gone(request, NotFound("no such file"))
    try:
        opened = await _open(token, count_view=False)
    except (NotFound, ShareLinkGone) as exc:
        return _gone(request, exc)
    chosen: Literal["pdf", "xlsx", "csv"] = "pdf" if extension == "pdf" else "xlsx" if extension == "xlsx" else "csv"
    response = await report_file(opened.report, chosen)
    response.headers.update(SHARED_HEADERS)
    return response


async def _drawn(spec: Spec | None) -> object:
    return await asyncio.to_thread(fallback_svg, spec) if spec is not None else None


def _gone(request: Request, exc: NotFound | ShareLinkGone) -> Response:
    reason = "expired" if isinstance(exc, ShareLinkExpired) else "revoked" if isinstance(exc, ShareLinkGone) else None
    context = {"status": exc.status, "reason": reason, "detail": exc.detail}
    return TEMPLATES.TemplateResponse(
        request, "reports/shared_gone.html", context, status_code=exc.status, headers=SHARED_HEADERS
    )
