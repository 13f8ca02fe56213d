"""Delivery and pacing of insertion orders and campaigns, and the makegoods of orders that ended under goal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.bookings import delivery, makegoods
from podsponsor.bookings.delivery_schemas import CampaignDeliveryOut, IoDeliveryOut, MakegoodOut, SettleIn
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature
from podsponsor.listing import DEFAULT_LIMIT, Page, window

router = APIRouter(prefix="/api/v1", tags=["delivery"], dependencies=[Depends(feature("ENABLE_IO_BOOKINGS"))])
Reader = Annotated[Subject, Depends(require(Permission.BOOKINGS_READ))]
Writer = Annotated[Subject, Depends(require(Permission.BOOKINGS_WRITE))]


@router.get(
    "/io/{io_id}/delivery",
    response_model=IoDeliveryOut,
    summary="An order's delivered impressions, pacing, spend and eCPM as of today, with its daily delivery",
)
async def io_delivery(io_id: uuid.UUID, subject: Reader) -> IoDeliveryOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await delivery.io_delivery(session, subject, io_id, today=datetime.now(UTC).date())
        return IoDeliveryOut.of(found)


@router.get(
    "/campaigns/{campaign_id}/delivery",
    response_model=CampaignDeliveryOut,
    summary="Delivery of each of a campaign's orders, and the campaign's totals",
)
async def campaign_delivery(campaign_id: uuid.UUID, subject: Reader) -> CampaignDeliveryOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await delivery.campaign_delivery(session, subject, campaign_id, today=datetime.now(UTC).date())
        return CampaignDeliveryOut.of(found)


@router.get("/makegoods", response_model=Page[MakegoodOut], summary="Makegoods owed and settled")
async def list_makegoods(
    subject: Reader,
    state: Annotated[Literal["open", "settled"] | None, Query(description="open (not settled) or settled")] = None,
    io_id: uuid.UUID | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {makegoods.SORTS}, '-' for descending")] = "-created_at",
) -> Page[MakegoodOut]:
    page = window(limit, offset, sort, makegoods.SORTS, get_settings().page_size_max)
    settled = None if state is None else state == "settled"
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await makegoods.list_makegoods(session, subject, settled=settled, io_id=io_id, page=page)
        return Page.of([MakegoodOut.of(makegood, io, subject) for makegood, io in rows], total, page)


@router.get("/makegoods/{makegood_id}", response_model=MakegoodOut, summary="One makegood")
async def get_makegood(makegood_id: uuid.UUID, subject: Reader) -> MakegoodOut:
    async with tenant_transaction(subject.tenant_id) as session:
        makegood, io = await makegoods.get_makegood(session, subject, makegood_id)
        return MakegoodOut.of(makegood, io, subject)


@router.post(
    "/makegoods/{makegood_id}/settle",
    response_model=MakegoodOut,
    summary="Settle a makegood by a bonus episode, an extended flight or a credit",
)
async def settle_makegood(makegood_id: uuid.UUID, body: SettleIn, subject: Writer) -> MakegoodOut:
    async with tenant_transaction(subject.tenant_id) as session:
        makegood, io = await makegoods.settle(
            session, subject, makegood_id, body.to_settlement(), now=datetime.now(UTC)
        )
        return MakegoodOut.of(makegood, io, subject)
