from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.listing import DEFAULT_LIMIT, Page, window
from podsponsor.measurement import service
from podsponsor.measurement.schemas import LabelIn, ListVersionOut, ReviewStatus, UnknownUserAgentOut

router = APIRouter(prefix="/api/v1/measurement", tags=["measurement"])
Reader = Annotated[Subject, Depends(require(Permission.MEASUREMENT_READ))]
Writer = Annotated[Subject, Depends(require(Permission.MEASUREMENT_WRITE))]


@router.get("/lists", response_model=list[ListVersionOut], summary="The reference lists in use")
async def active_lists(subject: Reader) -> list[ListVersionOut]:
    async with tenant_transaction(subject.tenant_id) as session:
        return [ListVersionOut.model_validate(v) for v in await service.active_versions(session)]


@router.get(
    "/unknown-user-agents",
    response_model=Page[UnknownUserAgentOut],
    summary="User agents no reference list recognises, most seen first",
)
async def unknown_user_agents(
    subject: Reader,
    status: Annotated[ReviewStatus, Query(description="pending (not labelled yet), labelled, or all")] = "pending",
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.UNKNOWN_SORTS}, '-' for descending")] = "-hits",
) -> Page[UnknownUserAgentOut]:
    page = window(limit, offset, sort, service.UNKNOWN_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_unknown(session, subject, status, page)
        return Page.of([UnknownUserAgentOut.model_validate(r) for r in rows], total, page)


@router.post(
    "/unknown-user-agents/{user_agent_id}/label",
    response_model=UnknownUserAgentOut,
    summary="Say what a user agent is; counting then classifies it so for this workspace",
)
async def label_user_agent(user_agent_id: uuid.UUID, body: LabelIn, subject: Writer) -> UnknownUserAgentOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return UnknownUserAgentOut.model_validate(await service.label_unknown(session, subject, user_agent_id, body))
