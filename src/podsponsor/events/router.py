from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.events import service
from podsponsor.events.schemas import EventOut
from podsponsor.listing import DEFAULT_LIMIT, Page, window

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.get("", response_model=Page[EventOut], summary="The event log, newest first")
async def list_events(
    subject: Annotated[Subject, Depends(require(Permission.EVENTS_READ))],
    type: Annotated[list[str], Query(description="event types, e.g. deal.stage_changed")] = [],  # noqa: B006
    since: Annotated[datetime | None, Query(description="at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before (ISO 8601)")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description="'at' or '-at'")] = "-at",
) -> Page[EventOut]:
    page = window(limit, offset, sort, ("at",), get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_events(session, subject, type, since, until, page)
        return Page.of([EventOut.model_validate(r) for r in rows], total, page)
