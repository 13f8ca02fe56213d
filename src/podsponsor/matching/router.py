"""Matchmaking over REST, under /api/v1/match, behind ENABLE_MATCHMAKING."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import ValidationFailed
from podsponsor.flags.dependencies import feature
from podsponsor.matching import service, settings
from podsponsor.matching.schemas import BriefIn, BriefOut, MatchOut, MatchPage, RankedMatchOut, RunOut

router = APIRouter(prefix="/api/v1/match", tags=["matchmaking"], dependencies=[Depends(feature(service.FLAG))])
Reader = Annotated[Subject, Depends(require(Permission.MATCH_READ))]
Writer = Annotated[Subject, Depends(require(Permission.MATCH_WRITE))]
Admin = Annotated[Subject, Depends(require(Permission.TENANT_ADMIN))]
Position = Annotated[
    list[str] | None, Query(description="ad positions counted by the inventory filter: pre, mid, post")
]


@router.post(
    "/recalculate",
    response_model=RunOut,
    summary="Recalculate one pair, one advertiser's or show's pairs, or (admins, as a job) the whole workspace",
    responses={202: {"description": "the whole-workspace run was queued; follow it at /api/v1/match/runs/{id}"}},
)
async def recalculate(
    subject: Writer,
    response: Response,
    advertiser_id: Annotated[uuid.UUID | None, Query(description="the advertiser (sponsor)")] = None,
    podcast_id: Annotated[uuid.UUID | None, Query(description="the show")] = None,
) -> RunOut:
    async with tenant_transaction(subject.tenant_id) as session:
        run = await service.recalculate(session, subject, sponsor_id=advertiser_id, podcast_id=podcast_id)
        if run.status == "queued":
            response.status_code = status.HTTP_202_ACCEPTED
        return RunOut.of(run)


@router.get("/runs/{run_id}", response_model=RunOut, summary="A recalculation's status and progress")
async def get_run(run_id: uuid.UUID, subject: Reader) -> RunOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return RunOut.of(await service.get_run(session, subject, run_id))


@router.get("", response_model=MatchPage, summary="Stored matches, best first, with filters")
async def list_matches(
    subject: Reader,
    advertiser_id: Annotated[uuid.UUID | None, Query(description="one advertiser's shows")] = None,
    podcast_id: Annotated[uuid.UUID | None, Query(description="one show's advertisers")] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    category: Annotated[str | None, Query(max_length=200, description="shows in this category")] = None,
    available_from: Annotated[date | None, Query(description="only shows with open slots from this day")] = None,
    available_to: Annotated[date | None, Query(description="... to this day")] = None,
    position: Position = None,
    min_slots: Annotated[int, Query(ge=1, le=10_000, description="open slots needed in that flight")] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> MatchPage:
    if (available_from is None) != (available_to is None):
        raise ValidationFailed(
            "available_from and available_to go together",
            errors=[{"field": "available_to" if available_from else "available_from", "reason": "missing"}],
        )
    availability = None
    if available_from and available_to:
        availability = service.Availability(available_from, available_to, tuple(position or ()), min_slots)
    async with tenant_transaction(subject.tenant_id) as session:
        found, total = await service.ranked(
            session,
            subject,
            sponsor_id=advertiser_id,
            podcast_id=podcast_id,
            min_score=min_score,
            category=category,
            availability=availability,
            limit=limit,
            offset=offset,
        )
    return MatchPage(items=[RankedMatchOut.of_ranked(m) for m in found], total=total, limit=limit, offset=offset)


@router.get("/settings", response_model=settings.MatchSettingsOut, summary="Signal weights and scoring settings")
async def get_settings(subject: Reader) -> settings.MatchSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return settings.MatchSettingsOut.of(await settings.match_settings(session, subject.tenant_id))


@router.patch("/settings", response_model=settings.MatchSettingsOut, summary="Change weights and scoring settings")
async def update_settings(data: settings.MatchSettingsIn, subject: Admin) -> settings.MatchSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return settings.MatchSettingsOut.of(await settings.update_settings(session, subject, data))


@router.get("/briefs/{advertiser_id}", response_model=BriefOut, summary="An advertiser's brief")
async def get_brief(advertiser_id: uuid.UUID, subject: Reader) -> BriefOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return BriefOut.of(advertiser_id, await service.get_brief(session, subject, advertiser_id))


@router.put("/briefs/{advertiser_id}", response_model=BriefOut, summary="Set an advertiser's brief")
async def put_brief(advertiser_id: uuid.UUID, data: BriefIn, subject: Writer) -> BriefOut:
    async with tenant_transaction(subject.tenant_id) as session:
        brief = await service.put_brief(session, subject, advertiser_id, data.values())
        return BriefOut.of(advertiser_id, brief)


@router.get("/{advertiser_id}/{podcast_id}", response_model=MatchOut, summary="One pair's match and signals")
async def get_match(advertiser_id: uuid.UUID, podcast_id: uuid.UUID, subject: Reader) -> MatchOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return MatchOut.of(await service.get_match(session, subject, advertiser_id, podcast_id))
