"""The deal pipeline over REST: stage moves, the board, a deal with its history, forecast, win/loss and the
workspace's stage probabilities. Everything answers 404 while `ENABLE_DEAL_PIPELINE` is off."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.sales import deals
from podsponsor.sales.deal_schemas import (
    BoardOut,
    DealFilters,
    DealOut,
    DealSettingsIn,
    DealSettingsOut,
    ForecastOut,
    StageMoveIn,
    WinLossBy,
    WinLossOut,
)

router = APIRouter(prefix="/api/v1/deals", tags=["deals"], dependencies=[Depends(feature("ENABLE_DEAL_PIPELINE"))])
Reader = Annotated[Subject, Depends(require(Permission.SALES_READ))]
Writer = Annotated[Subject, Depends(require(Permission.SALES_WRITE))]
Admin = Annotated[Subject, Depends(require(Permission.TENANT_ADMIN))]
SellerFilter = Annotated[uuid.UUID | None, Query(description="only this seller's deals")]
SponsorFilter = Annotated[uuid.UUID | None, Query(description="only this sponsor's deals")]
WIN_LOSS_DEFAULT_DAYS = 365

# The fixed paths come before /{campaign_id}, which would otherwise claim them.


@router.get("/settings", response_model=DealSettingsOut, summary="The workspace's stage probabilities")
async def deal_settings(subject: Admin) -> DealSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.deal_settings(session, subject)


@router.put("/settings", response_model=DealSettingsOut, summary="Set the workspace's stage probabilities")
async def update_deal_settings(body: DealSettingsIn, subject: Admin) -> DealSettingsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.update_settings(session, subject, body)


@router.get("/forecast", response_model=ForecastOut, summary="Weighted pipeline by expected close month")
async def forecast(
    subject: Reader,
    months: Annotated[int, Query(description=f"months from this one, 1 to {deals.FORECAST_MONTHS_MAX}")] = 6,
    seller_id: SellerFilter = None,
    sponsor_id: SponsorFilter = None,
) -> ForecastOut:
    filters = DealFilters(seller_id=seller_id, sponsor_id=sponsor_id)
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.forecast(session, subject, months, filters)


@router.get("/win-loss", response_model=WinLossOut, summary="Deals won and lost in a period, and win rates")
async def win_loss(
    subject: Reader,
    by: Annotated[WinLossBy, Query(description="group by sponsor, seller or close month")] = "sponsor",
    start: Annotated[date | None, Query(description="first day (UTC); default a year before end")] = None,
    end: Annotated[date | None, Query(description="last day (UTC), inclusive; default today")] = None,
) -> WinLossOut:
    last = end or datetime.now(UTC).date()
    first = start or last - timedelta(days=WIN_LOSS_DEFAULT_DAYS - 1)
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.win_loss(session, subject, by, first, last)


@router.get("", response_model=BoardOut, summary="The board: the deals of every stage")
async def board(
    subject: Reader,
    seller_id: SellerFilter = None,
    sponsor_id: SponsorFilter = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the deal's or its sponsor's name")] = None,
    limit: Annotated[int, Query(description="deals per stage, 1 to 200")] = deals.BOARD_LIMIT,
) -> BoardOut:
    filters = DealFilters(seller_id=seller_id, sponsor_id=sponsor_id, q=q or None)
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.board(session, subject, filters, limit)


@router.get("/{campaign_id}", response_model=DealOut, summary="One deal with its stage history")
async def get_deal(campaign_id: uuid.UUID, subject: Reader) -> DealOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.get_deal(session, subject, campaign_id)


@router.patch("/{campaign_id}/stage", response_model=DealOut, summary="Move a deal to another stage")
async def move_deal(campaign_id: uuid.UUID, body: StageMoveIn, subject: Writer) -> DealOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return await deals.move(session, subject, campaign_id, body)
