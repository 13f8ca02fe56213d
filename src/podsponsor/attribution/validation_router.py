"""Validating a campaign's attribution against ground truth (promo codes, a holdout of households), the stored
validations, and the campaign's lift."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field, model_validator

from podsponsor.attribution import validation
from podsponsor.attribution.intervals import CONFIDENCE, ITERATIONS, SEED
from podsponsor.attribution.models import AttributionValidation
from podsponsor.attribution.results_schemas import INTERVAL_METHOD, EstimateOut, IntervalOut
from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.flags.dependencies import feature

router = APIRouter(
    prefix="/api/v1/attribution",
    tags=["attribution validation"],
    dependencies=[Depends(feature("ENABLE_ATTRIBUTION"))],
)
Reader = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_READ))]
Writer = Annotated[Subject, Depends(require(Permission.ATTRIBUTION_WRITE))]
ModelName = Literal["first_touch", "last_touch", "linear", "time_decay", "position_based", "custom"]
Iterations = Annotated[int, Query(ge=100, le=10_000, description="bootstrap iterations")]


def _today() -> date:
    return datetime.now(UTC).date()


class HoldoutIn(BaseModel):
    households: list[str] | None = Field(
        default=None, max_length=100_000, description="the households (address hashes) to hold out"
    )
    fraction: float = Field(
        default=validation.DEFAULT_HOLDOUT_FRACTION,
        gt=0,
        lt=1,
        description="else: the share of the exposed households held out at random",
    )
    seed: int = Field(default=SEED, ge=0, description="seeds the random holdout and the bootstrap")


class ValidationIn(BaseModel):
    campaign_id: uuid.UUID
    model: ModelName
    ground_truth: Literal["promo_code", "holdout"]
    holdout_households: HoldoutIn | None = Field(default=None, description="for ground_truth holdout only")
    iterations: int = Field(default=ITERATIONS, ge=100, le=10_000)

    @model_validator(mode="after")
    def _holdout_only_with_holdout(self) -> Self:
        if self.holdout_households is not None and self.ground_truth != "holdout":
            raise ValueError("holdout_households applies only to ground_truth 'holdout'")
        return self


class ValidationOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    model: str
    ground_truth: str
    sample_size: int = Field(description="promo-code conversions, or held-out households")
    predicted: float = Field(description="promo code: the share of credit on the code's order; holdout: conversions")
    actual: float = Field(description="promo code: 1; holdout: the held-out households' attributed conversions")
    accuracy: EstimateOut
    details: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, found: AttributionValidation) -> ValidationOut:
        return cls(
            id=found.id,
            campaign_id=found.campaign_id,
            model=found.model,
            ground_truth=found.ground_truth,
            sample_size=found.sample_size,
            predicted=found.predicted,
            actual=found.actual,
            accuracy=EstimateOut(value=found.accuracy, low=found.ci_low, high=found.ci_high),
            details=found.details or {},
            created_by=found.created_by,
            created_at=found.created_at,
        )


class ValidationsOut(BaseModel):
    items: list[ValidationOut]


class StratumOut(BaseModel):
    country: str
    device_family: str
    exposed_households: int
    exposed_converting: int
    unexposed_households: int
    unexposed_converting: int


class LiftOut(BaseModel):
    campaign_id: uuid.UUID
    label: Literal["modeled"] = "modeled"
    lift: EstimateOut = Field(description="exposed rate / matched unexposed rate - 1")
    exposed_households: int
    exposed_conversion_rate: float | None = Field(description="over the strata that have unexposed households")
    unexposed_households: int
    unexposed_conversion_rate: float | None = Field(description="reweighted to the exposed households' strata")
    coverage: float | None = Field(description="exposed households in a stratum with unexposed ones / all exposed")
    matching: str = "country x device family strata, unexposed households reweighted to the exposed mix"
    strata: list[StratumOut]
    interval: IntervalOut

    @classmethod
    def of(cls, campaign_id: uuid.UUID, found: validation.Lift) -> LiftOut:
        return cls(
            campaign_id=campaign_id,
            lift=EstimateOut.of(found.lift),
            exposed_households=found.exposed_households,
            exposed_conversion_rate=found.exposed_rate,
            unexposed_households=found.unexposed_households,
            unexposed_conversion_rate=found.unexposed_rate,
            coverage=found.coverage,
            strata=[
                StratumOut(
                    country=s.country,
                    device_family=s.family,
                    exposed_households=s.exposed,
                    exposed_converting=s.exposed_converting,
                    unexposed_households=s.unexposed,
                    unexposed_converting=s.unexposed_converting,
                )
                for s in found.strata
            ],
            interval=IntervalOut(
                confidence=CONFIDENCE,
                method=f"{INTERVAL_METHOD}, stratified by exposure and stratum",
                iterations=found.iterations,
                seed=found.seed,
            ),
        )


@router.post(
    "/validate",
    response_model=ValidationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Validate a campaign's attribution model against promo codes or a holdout of households",
)
async def validate(data: ValidationIn, subject: Writer) -> ValidationOut:
    holdout = None
    if data.holdout_households is not None:
        given = data.holdout_households
        holdout = validation.Holdout(given.households, given.fraction, given.seed)
    async with tenant_transaction(subject.tenant_id) as session:
        found = await validation.validate(
            session,
            subject,
            data.campaign_id,
            model=data.model,
            ground_truth=data.ground_truth,
            holdout=holdout,
            today=_today(),
            iterations=data.iterations,
        )
        await session.refresh(found)
        return ValidationOut.of(found)


@router.get(
    "/campaigns/{campaign_id}/validations",
    response_model=ValidationsOut,
    summary="A campaign's validations, newest first",
)
async def validations(campaign_id: uuid.UUID, subject: Reader) -> ValidationsOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await validation.list_validations(session, subject, campaign_id)
        return ValidationsOut(items=[ValidationOut.of(v) for v in found])


@router.get(
    "/campaigns/{campaign_id}/lift",
    response_model=LiftOut,
    summary="The campaign's incrementality: exposed against matched unexposed households' conversion rates",
)
async def lift(campaign_id: uuid.UUID, subject: Reader, iterations: Iterations = ITERATIONS) -> LiftOut:
    async with tenant_transaction(subject.tenant_id) as session:
        found = await validation.lift(session, subject, campaign_id, today=_today(), iterations=iterations)
    return LiftOut.of(campaign_id, found)
