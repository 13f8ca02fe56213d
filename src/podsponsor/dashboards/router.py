"""The dashboards' data over REST, under /api/v1/dashboard, behind ENABLE_NEW_DASHBOARD_CARDS."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.dashboards import scope, service
from podsponsor.dashboards.schemas import Dashboard
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboards"], dependencies=[Depends(feature(service.FLAG))])
Start = Annotated[
    date | None, Query(alias="from", description="first UTC day (YYYY-MM-DD); default: 29 days before `to`")
]
End = Annotated[
    date | None,
    Query(alias="to", description=f"last UTC day (YYYY-MM-DD); default: today; at most {scope.MAX_DAYS} days"),
]


def _today() -> date:
    return datetime.now(UTC).date()


@router.get(
    "/creator",
    response_model=Dashboard,
    summary="The creator's cards: pacing, sponsor revenue, makegoods, downloads, episode lifecycle",
)
async def creator_dashboard(
    subject: Annotated[Subject, Depends(require(Permission.DASHBOARD_CREATOR))],
    start: Start = None,
    end: End = None,
) -> Dashboard:
    period = scope.period(start, end, today=_today())
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.creator_dashboard(session, subject, period)


@router.get(
    "/advertiser",
    response_model=Dashboard,
    summary="An advertiser's cards: audience fit, projected CPM, open inventory, campaign results",
)
async def advertiser_dashboard(
    subject: Annotated[Subject, Depends(require(Permission.DASHBOARD_ADVERTISER))],
    start: Start = None,
    end: End = None,
    sponsor_id: Annotated[
        uuid.UUID | None, Query(description="the advertiser; required unless you sign in as an advertiser user")
    ] = None,
) -> Dashboard:
    period = scope.period(start, end, today=_today())
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.advertiser_dashboard(session, subject, period, sponsor_id)


@router.get(
    "/ops",
    response_model=Dashboard,
    summary="Ad ops' cards: pipeline forecast, win/loss, metrics imports, measurement and attribution health",
)
async def ops_dashboard(
    subject: Annotated[Subject, Depends(require(Permission.DASHBOARD_OPS))],
    start: Start = None,
    end: End = None,
) -> Dashboard:
    period = scope.period(start, end, today=_today())
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.ops_dashboard(session, subject, period)
