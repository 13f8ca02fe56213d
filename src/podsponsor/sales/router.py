from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.listing import DEFAULT_LIMIT, Page, window
from podsponsor.sales import service
from podsponsor.sales.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    SponsorIn,
    SponsorOut,
    SponsorPatch,
    Stage,
)

router = APIRouter(prefix="/api/v1", tags=["sales"])
# Campaigns are the deals of the pipeline: switching the pipeline off hides them.
Deals = [Depends(feature("ENABLE_DEAL_PIPELINE"))]
Reader = Annotated[Subject, Depends(require(Permission.SALES_READ))]
Writer = Annotated[Subject, Depends(require(Permission.SALES_WRITE))]


@router.post("/sponsors", status_code=status.HTTP_201_CREATED, response_model=SponsorOut, summary="Add a sponsor")
async def create_sponsor(body: SponsorIn, subject: Writer) -> SponsorOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return SponsorOut.of(await service.create_sponsor(session, subject, body), subject)


@router.get("/sponsors", response_model=Page[SponsorOut], summary="List sponsors")
async def list_sponsors(
    subject: Reader,
    q: Annotated[str | None, Query(max_length=200, description="text in the name")] = None,
    industry: Annotated[str | None, Query(max_length=100, description="exact industry, ignoring case")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.SPONSOR_SORTS}, '-' for descending")] = "name",
) -> Page[SponsorOut]:
    page = window(limit, offset, sort, service.SPONSOR_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_sponsors(session, subject, q, industry, page)
        return Page.of([SponsorOut.of(r, subject) for r in rows], total, page)


@router.get("/sponsors/{sponsor_id}", response_model=SponsorOut, summary="One sponsor")
async def get_sponsor(sponsor_id: uuid.UUID, subject: Reader) -> SponsorOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return SponsorOut.of(await service.get_sponsor(session, subject, sponsor_id), subject)


@router.patch("/sponsors/{sponsor_id}", response_model=SponsorOut, summary="Change a sponsor")
async def update_sponsor(sponsor_id: uuid.UUID, body: SponsorPatch, subject: Writer) -> SponsorOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return SponsorOut.of(await service.update_sponsor(session, subject, sponsor_id, body), subject)


@router.delete(
    "/sponsors/{sponsor_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a sponsor and its campaigns (soft)",
)
async def delete_sponsor(sponsor_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_sponsor(session, subject, sponsor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/campaigns",
    dependencies=Deals,
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignOut,
    summary="Add a campaign (deal)",
)
async def create_campaign(body: CampaignIn, subject: Writer) -> CampaignOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return CampaignOut.of(await service.create_campaign(session, subject, body), subject)


@router.get("/campaigns", dependencies=Deals, response_model=Page[CampaignOut], summary="List campaigns (deals)")
async def list_campaigns(
    subject: Reader,
    sponsor_id: uuid.UUID | None = None,
    stage: Annotated[list[Stage], Query(description="stages to include; repeat for several")] = [],  # noqa: B006
    q: Annotated[str | None, Query(max_length=200, description="text in the name")] = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.CAMPAIGN_SORTS}, '-' for descending")] = "-created_at",
) -> Page[CampaignOut]:
    page = window(limit, offset, sort, service.CAMPAIGN_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_campaigns(session, subject, sponsor_id, stage, q, page)
        return Page.of([CampaignOut.of(r, subject) for r in rows], total, page)


@router.get("/campaigns/{campaign_id}", dependencies=Deals, response_model=CampaignOut, summary="One campaign (deal)")
async def get_campaign(campaign_id: uuid.UUID, subject: Reader) -> CampaignOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return CampaignOut.of(await service.get_campaign(session, subject, campaign_id), subject)


@router.patch(
    "/campaigns/{campaign_id}",
    dependencies=Deals,
    response_model=CampaignOut,
    summary="Change a campaign (deal); its stage moves elsewhere",
)
async def update_campaign(campaign_id: uuid.UUID, body: CampaignPatch, subject: Writer) -> CampaignOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return CampaignOut.of(await service.update_campaign(session, subject, campaign_id, body), subject)


@router.delete(
    "/campaigns/{campaign_id}",
    dependencies=Deals,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a campaign (deal) (soft)",
)
async def delete_campaign(campaign_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_campaign(session, subject, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
