"""Attribution results as the API shows them. Money is in cents of the named currency (fractional: credit is
fractional); every figure carries its 95 % bootstrap interval and is split into deterministic and modeled matches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from podsponsor.attribution.intervals import CONFIDENCE, Estimate
from podsponsor.attribution.models import AttributionModel, AttributionRun
from podsponsor.attribution.results import Comparison, Figures, Results, Split

INTERVAL_METHOD = "percentile bootstrap over households (resampled with replacement), seeded"


class EstimateOut(BaseModel):
    value: float | None = Field(description="the figure; null when undefined (e.g. a cost per zero conversions)")
    low: float | None = Field(description="lower end of the 95 % interval")
    high: float | None = Field(description="upper end of the 95 % interval (null: unbounded)")

    @classmethod
    def of(cls, found: Estimate) -> EstimateOut:
        return cls(value=found.value, low=found.low, high=found.high)


class SplitOut(BaseModel):
    total: EstimateOut
    deterministic: EstimateOut = Field(description="from promo-code and vanity-URL matches")
    modeled: EstimateOut = Field(description="from household (address + device family) matches")

    @classmethod
    def of(cls, found: Split) -> SplitOut:
        return cls(
            total=EstimateOut.of(found.total),
            deterministic=EstimateOut.of(found.deterministic),
            modeled=EstimateOut.of(found.modeled),
        )


class CurrencySplitOut(SplitOut):
    currency: str

    @classmethod
    def listed(cls, found: dict[str, Split]) -> list[CurrencySplitOut]:
        return [cls(currency=currency, **SplitOut.of(split).model_dump()) for currency, split in sorted(found.items())]


class SpendOut(BaseModel):
    currency: str
    cents: int


class FiguresOut(BaseModel):
    conversions: SplitOut = Field(description="attributed conversions: the sum of credit")
    revenue_cents: list[CurrencySplitOut] = Field(description="the sum of credit x order value, per currency")
    cpa_cents: list[CurrencySplitOut] = Field(description="spend / attributed conversions, per spend currency")
    roas: list[CurrencySplitOut] = Field(description="revenue / spend, where both are in the same currency")
    conversion_rate: SplitOut = Field(description="converting households / households reached")
    households_converting: int

    @classmethod
    def fields_of(cls, found: Figures) -> dict[str, Any]:
        return {
            "conversions": SplitOut.of(found.conversions),
            "revenue_cents": CurrencySplitOut.listed(found.revenue),
            "cpa_cents": CurrencySplitOut.listed(found.cpa),
            "roas": CurrencySplitOut.listed(found.roas),
            "conversion_rate": SplitOut.of(found.conversion_rate),
            "households_converting": found.households_converting,
        }


class IntervalOut(BaseModel):
    confidence: float = CONFIDENCE
    method: str = INTERVAL_METHOD
    iterations: int
    seed: int


class RunOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    model: str | None = Field(description="the model whose credits these figures sum")
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    lookback_days: int | None
    conversions_considered: int
    matched: dict[str, int] = Field(description="matched conversions by match type: promo_code, vanity, household")
    unusable_ip_share: float | None = Field(
        description="conversions whose household is shared (too many user agents) / conversions with an address"
    )
    stats: dict[str, Any]

    @classmethod
    def of(cls, run: AttributionRun, model: AttributionModel | None) -> RunOut:
        stats = run.stats or {}
        return cls(
            id=run.id,
            campaign_id=run.campaign_id,
            model=model.model if model else None,
            trigger=run.trigger,
            started_at=run.started_at,
            finished_at=run.finished_at,
            lookback_days=stats.get("lookback_days"),
            conversions_considered=int(stats.get("conversions_considered", 0)),
            matched={str(k): int(v) for k, v in stats.get("matched", {}).items()},
            unusable_ip_share=stats.get("unusable_ip_share"),
            stats=stats,
        )


def _spend(spend: dict[str, int]) -> list[SpendOut]:
    return [SpendOut(currency=currency, cents=cents) for currency, cents in sorted(spend.items())]


class ResultsOut(FiguresOut):
    scope: Literal["campaign", "io", "episode"]
    scope_id: uuid.UUID
    start: date | None
    end: date | None
    runs: list[RunOut] = Field(description="the run (for an episode: each campaign's run) the figures come from")
    households_reached: int = Field(description="distinct households exposed in the scope")
    spend: list[SpendOut] = Field(description="spend to date per currency, from delivery")
    interval: IntervalOut

    @classmethod
    def of(cls, found: Results) -> ResultsOut:
        return cls(
            scope=found.kind,
            scope_id=found.scope_id,
            start=found.period.start,
            end=found.period.end,
            runs=[RunOut.of(used.run, used.model) for used in found.runs],
            households_reached=found.reach,
            spend=_spend(found.spend),
            interval=IntervalOut(iterations=found.iterations, seed=found.seed),
            **FiguresOut.fields_of(found.figures),
        )


class IoCreditOut(BaseModel):
    io_id: uuid.UUID
    number: str
    conversions: float
    deterministic: float
    modeled: float
    revenue_cents: dict[str, float] = Field(description="per currency")


class ModelResultsOut(FiguresOut):
    model: str
    is_default: bool
    lookback_days: int
    half_life_days: float | None
    weights: dict[str, Any]
    by_io: list[IoCreditOut] = Field(
        description="each order's attributed conversions and revenue under this model (point figures): where the "
        "models differ, since every model spreads each conversion's whole credit"
    )


class ComparisonOut(BaseModel):
    campaign_id: uuid.UUID
    start: date | None
    end: date | None
    run: RunOut
    households_reached: int
    spend: list[SpendOut]
    models: list[ModelResultsOut]
    interval: IntervalOut

    @classmethod
    def of(cls, found: Comparison) -> ComparisonOut:
        return cls(
            campaign_id=found.campaign_id,
            start=found.period.start,
            end=found.period.end,
            run=RunOut.of(found.run, None),
            households_reached=found.reach,
            spend=_spend(found.spend),
            models=[
                ModelResultsOut(
                    model=m.model.model,
                    is_default=m.model.is_default,
                    lookback_days=m.model.lookback_days,
                    half_life_days=m.model.half_life_days,
                    weights=m.model.weights or {},
                    by_io=[
                        IoCreditOut(
                            io_id=io.io_id,
                            number=io.number,
                            conversions=io.conversions,
                            deterministic=io.deterministic,
                            modeled=io.modeled,
                            revenue_cents=io.revenue_cents,
                        )
                        for io in m.by_io
                    ],
                    **FiguresOut.fields_of(m.figures),
                )
                for m in found.models
            ],
            interval=IntervalOut(iterations=found.iterations, seed=found.seed),
        )


class RecalculationOut(BaseModel):
    campaign_id: uuid.UUID
    queued: bool = Field(description="false when a recalculation of the campaign was already waiting")
    detail: str
