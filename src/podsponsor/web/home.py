"""The start page of a signed-in user: the workspace at a glance and the next things to do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.catalog import service as catalog
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.listing import window
from podsponsor.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
SignedIn = Annotated[Subject, Depends(require_page())]
RECENT_SHOWS = 5


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, subject: SignedIn) -> HTMLResponse:
    shows, show_count = [], 0
    if subject.can(Permission.CATALOG_READ):
        newest = window(RECENT_SHOWS, 0, "-created_at", catalog.PODCAST_SORTS, get_settings().page_size_max)
        async with tenant_transaction(subject.tenant_id) as session:
            rows, show_count = await catalog.list_podcasts(session, subject, None, None, None, newest)
            shows = list(rows)
    return render(request, "web/home.html", shows=shows, show_count=show_count)
