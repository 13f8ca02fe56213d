"""The activity page: the workspace's event log, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.events import service
from podsponsor.listing import window
from podsponsor.web.forms import page_number, pager
from podsponsor.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
EventsReader = Annotated[Subject, Depends(require_page(Permission.EVENTS_READ))]
PAGE_SIZE = 50
TYPE_FILTER_MAX = 80


@router.get("/events", response_class=HTMLResponse)
async def events_page(request: Request, subject: EventsReader) -> Response:
    number = page_number(request.query_params.get("page"))
    kind = request.query_params.get("type", "").strip()[:TYPE_FILTER_MAX]
    page = window(PAGE_SIZE, (number - 1) * PAGE_SIZE, "-at", ("at",), PAGE_SIZE)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_events(session, subject, [kind] if kind else [], None, None, page)
    return render(request, "web/events.html", events=rows, kind=kind, pager=pager(request, number, PAGE_SIZE, total))
