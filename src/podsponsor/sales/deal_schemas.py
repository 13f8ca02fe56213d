"""Deal pipeline input and output: stage moves, the board, a deal's history, forecast, win/loss, probabilities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from podsponsor.sales.schemas import Stage, Strict

OPEN_STAGES: tuple[Stage, ...] = ("lead", "qualified", "proposal", "negotiation")
CLOSED_STAGES: tuple[Stage, ...] = ("won", "lost")
PIPELINE: tuple[Stage, ...] = (*OPEN_STAGES, *CLOSED_STAGES)
WinLossBy = Literal["sponsor", "seller", "month"]


@dataclass(frozen=True)
class DealFilters:
    """Which deals a board or forecast covers: one seller's, one sponsor's, or those whose or whose sponsor's name
    contains `q`."""

    seller_id: uuid.UUID | None = None
    sponsor_id: uuid.UUID | None = None
    q: str | None = None


class StageMoveIn(Strict):
    stage: Stage = Field(description="the stage to move the deal to")
    note: str = Field("", max_length=2000, description="why it moved; kept in the deal's history")
    from_stage: Stage | None = Field(
        None, description="the stage the client last saw; when the deal has moved since, the answer is 409"
    )


class StageProbabilities(BaseModel):
    """Win probabilities (0 to 1) by stage: a deal without its own probability is weighted by its stage's."""

    lead: float
    qualified: float
    proposal: float
    negotiation: float
    won: float
    lost: float


class StageProbabilitiesIn(Strict):
    """Open stages take any probability; won and lost are certain, so only 1 and 0 are accepted for them (which
    lets a client send back what it read)."""

    lead: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    qualified: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    proposal: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    negotiation: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    won: float | None = None
    lost: float | None = None

    @field_validator("lead", "qualified", "proposal", "negotiation", mode="after")
    @classmethod
    def _three_decimals(cls, value: float | None) -> float | None:
        # Deals keep probabilities to three decimals; stages do the same so both read alike.
        return round(value, 3) if value is not None else None

    @field_validator("won", mode="after")
    @classmethod
    def _won_is_certain(cls, value: float | None) -> float | None:
        if value is not None and value != 1:
            raise ValueError("a won deal is certain: its probability is 1")
        return value

    @field_validator("lost", mode="after")
    @classmethod
    def _lost_is_nothing(cls, value: float | None) -> float | None:
        if value is not None and value != 0:
            raise ValueError("a lost deal is worth nothing: its probability is 0")
        return value


class DealSettingsIn(Strict):
    stage_probabilities: StageProbabilitiesIn = Field(
        description="the workspace's probabilities; a stage left out goes back to the default"
    )


class DealSettingsOut(BaseModel):
    stage_probabilities: StageProbabilities
    defaults: StageProbabilities


class DealCard(BaseModel):
    """A deal as the board shows it. `probability` is the one used for weighting: the deal's own while it is open
    (`probability_source` "deal"), else its stage's ("stage"); won is always 1 and lost 0."""

    id: uuid.UUID
    name: str
    stage: Stage
    sponsor_id: uuid.UUID
    sponsor_name: str
    seller_id: uuid.UUID | None
    seller_name: str | None
    value_cents: int
    currency: str
    probability: float
    probability_source: Literal["deal", "stage"]
    weighted_value_cents: int
    expected_close: date | None
    stage_changed_at: datetime
    days_in_stage: int
    moves: list[Stage] = Field(description="the stages the caller may move this deal to")


class StageChangeOut(BaseModel):
    from_stage: Stage | None = Field(description="null for the deal's creation")
    to_stage: Stage
    changed_by: uuid.UUID | None
    changed_by_name: str | None
    changed_at: datetime
    note: str


class DealOut(DealCard):
    notes: str = Field(description="internal: empty for advertiser users")
    history: list[StageChangeOut] = Field(description="every move, oldest first")


class MoneyTotal(BaseModel):
    currency: str
    value_cents: int
    weighted_value_cents: int


class BoardColumn(BaseModel):
    stage: Stage
    probability: float = Field(description="the stage's probability in this workspace")
    count: int = Field(description="deals in the stage that match the filters")
    totals: list[MoneyTotal] = Field(description="per currency, over every matching deal of the stage")
    deals: list[DealCard] = Field(description="the most recently moved first, at most `limit`")


class BoardOut(BaseModel):
    columns: list[BoardColumn]
    limit: int


class ForecastTotal(BaseModel):
    currency: str
    value_cents: int
    weighted_value_cents: int
    won_value_cents: int


class ForecastMonth(BaseModel):
    month: str = Field(description="YYYY-MM, the expected close month")
    deals: int
    open_deals: int
    won_deals: int
    totals: list[ForecastTotal]


class ForecastBucket(BaseModel):
    deals: int
    totals: list[ForecastTotal]


class ForecastOut(BaseModel):
    months: list[ForecastMonth]
    overdue: ForecastBucket = Field(description="open deals whose expected close month has passed")
    unscheduled: ForecastBucket = Field(description="open deals without an expected close date")
    stage_probabilities: StageProbabilities


class WinLossValue(BaseModel):
    currency: str
    won_value_cents: int
    lost_value_cents: int


class WinLossGroup(BaseModel):
    key: str | None = Field(description="sponsor id, seller id (null: no seller) or YYYY-MM; null for the total")
    label: str
    won_deals: int
    lost_deals: int
    win_rate: float | None = Field(description="won ÷ closed deals; null when none closed")
    values: list[WinLossValue]


class WinLossOut(BaseModel):
    by: WinLossBy
    start: date
    end: date
    groups: list[WinLossGroup]
    total: WinLossGroup
