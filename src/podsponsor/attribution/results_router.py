"""Attribution results of a campaign, an order or an episode, every model side by side, and recalculation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from podsponsor.attribution import results
from podsponsor.attribution.intervals import ITERATIONS
from podsponsor.attribution.results_schemas import ComparisonOut, RecalculationOut, ResultsOut
from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature

router = APIRouter(
    prefix="/api/v1/attribution", tags=["attribution results"], dependencies=[Depends(feature("ENABLE_ATTRIBUTION"))]
)
Reader = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_READ))]
Writer = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_WRITE))]
Model = Annotated[
    Literal["first_touch", "last_touch", "linear", "time_decay", "position_based", "custom"] | None,
    Query(description="the attribution model (default: the campaign's default model)"),
]
Start = Annotated[date | None, Query(description="first day (UTC) of conversions and exposures counted")]
End = Annotated[date | None, Query(description="last day (UTC) of conversions and exposures counted")]
Iterations = Annotated[int, Query(ge=100, le=10_000, description="bootstrap iterations")]


def _today() -> date:
    return datetime.now(UTC).date()


@router.get(
    "/campaigns/{campaign_id}",
    response_model=ResultsOut,
    summary="A campaign's attributed conversions, revenue, CPA, ROAS and conversion rate, with 95 % intervals",
)
async def campaign_results(
    campaign_id: uuid.UUID,
    subject: Reader,
    model: Model = None,
    start: Start = None,
    end: End = None,
    iterations: Iterations = ITERATIONS,
) -> ResultsOut:
    period = results.Period(start, end)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await results.campaign_results(
            session, subject, campaign_id, model=model, period=period, today=_today(), iterations=iterations
        )
        return ResultsOut.of(found)


@router.get(
    "/campaigns/{campaign_id}/models",
    response_model=ComparisonOut,
    summary="Every model of a campaign side by side, over the same run",
)
async def campaign_models(
    campaign_id: uuid.UUID,
    subject: Reader,
    start: Start = None,
    end: End = None,
    iterations: Iterations = ITERATIONS,
) -> ComparisonOut:
    period = results.Period(start, end)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await results.compare_models(
            session, subject, campaign_id, period=period, today=_today(), iterations=iterations
        )
        return ComparisonOut.of(found)


@router.get("/ios/{io_id}", response_model=ResultsOut, summary="An insertion order's attribution results")
async def io_results(
    io_id: uuid.UUID,
    subject: Reader,
    model: Model = None,
    start: Start = None,
    end: End = None,
    iterations: Iterations = ITERATIONS,
) -> ResultsOut:
    period = results.Period(start, end)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await results.io_results(
            session, subject, io_id, model=model, period=period, today=_today(), iterations=iterations
        )
        return ResultsOut.of(found)


@router.get(
    "/episodes/{episode_id}",
    response_model=ResultsOut,
    summary="An episode's attribution results, over the campaigns whose orders ran in it",
)
async def episode_results(
    episode_id: uuid.UUID,
    subject: Reader,
    model: Model = None,
    start: Start = None,
    end: End = None,
    iterations: Iterations = ITERATIONS,
) -> ResultsOut:
    period = results.Period(start, end)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await results.episode_results(
            session, subject, episode_id, model=model, period=period, today=_today(), iterations=iterations
        )
        return ResultsOut.of(found)


@router.post(
    "/campaigns/{campaign_id}/recalculate",
    response_model=RecalculationOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a recalculation of the campaign's attribution (a new run under every model it has)",
)
async def recalculate(campaign_id: uuid.UUID, subject: Writer) -> RecalculationOut:
    async with tenant_transaction(subject.tenant_id) as session:
        queued = await results.request_recalculation(session, subject, campaign_id)
    detail = "queued" if queued else "a recalculation of this campaign is already waiting"
    return RecalculationOut(campaign_id=campaign_id, queued=queued, detail=detail)
