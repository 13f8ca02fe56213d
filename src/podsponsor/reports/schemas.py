"""A campaign report as the API gives it (format=json), and the share links of a campaign. Money is integer cents
of the named currency, except attribution money, which is fractional cents (credit is fractional)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from podsponsor.attribution.results_schemas import EstimateOut, IntervalOut, SpendOut
from podsponsor.reports.models import CampaignShareLink

ReportFormat = Literal["json", "csv", "xlsx", "pdf"]
Paper = Literal["a4", "letter"]
LinkStatus = Literal["active", "expired", "revoked"]
FigureUnit = Literal["conversions", "money", "ratio", "share"]
MAX_LINK_DAYS = 90
DEFAULT_LINK_DAYS = 14


class CampaignRef(BaseModel):
    id: uuid.UUID
    name: str
    stage: str


class SponsorRef(BaseModel):
    id: uuid.UUID
    name: str


class PeriodOut(BaseModel):
    start: date | None = Field(description="the first flight day of the campaign's IOs (not cancelled)")
    end: date | None = Field(description="the last flight day of the campaign's IOs (not cancelled)")


class IoRowOut(BaseModel):
    io_id: uuid.UUID
    number: str
    show: str
    flight_start: date
    flight_end: date
    pacing_mode: str
    pricing_model: str
    status: str = Field(description="the IO's status: scheduled, active, completed, makegood or cancelled")
    pacing_status: str = Field(description="as the delivery pages word it: On pace, Behind, At risk, Not started, …")
    goal: int
    delivered: int
    expected: int = Field(description="impressions expected by the end of the report day under the pacing mode")
    pacing_pct: float | None = Field(description="delivered / expected, in percent; null before the flight")
    currency: str
    spend_cents: int
    ecpm_cents: int | None


class DayOut(BaseModel):
    day: date
    delivered: int = Field(description="impressions delivered that day by the IOs that are not cancelled")
    cumulative: int = Field(description="impressions delivered up to the end of that day")
    expected: int = Field(description="impressions expected by the end of that day (cumulative)")


class DeliveryTotalsOut(BaseModel):
    goal: int
    delivered: int
    expected: int
    pacing_pct: float | None = Field(description="each started IO's pacing weighted by its goal")
    currency: str | None
    spend_cents: int | None = Field(description="null when the IOs are in several currencies")
    ecpm_cents: int | None


class DeliveryOut(BaseModel):
    totals: DeliveryTotalsOut = Field(description="over the IOs that are not cancelled")
    ios: list[IoRowOut]
    daily: list[DayOut] = Field(description="every day from the first flight day to the report day")
    notes: list[str]


class FigureOut(BaseModel):
    name: str
    unit: FigureUnit
    currency: str | None = Field(description="for money and ratios: the currency")
    total: EstimateOut
    deterministic: EstimateOut = Field(description="from promo-code and vanity-URL matches")
    modeled: EstimateOut = Field(description="from household (address + device family) matches")


class IoSplitOut(BaseModel):
    io_id: uuid.UUID
    number: str
    conversions: float
    deterministic: float
    modeled: float
    revenue_cents: dict[str, float] = Field(description="per currency")


class ModelOut(BaseModel):
    model: str
    label: str
    is_default: bool
    lookback_days: int
    half_life_days: float | None
    conversions: float = Field(description="attributed conversions (point figure)")
    deterministic: float
    modeled: float
    revenue_cents: dict[str, float] = Field(description="attributed revenue per currency (point figure)")
    by_io: list[IoSplitOut]


class AttributionOut(BaseModel):
    model: str = Field(description="the campaign's default model, under which the figures are given")
    model_label: str
    run_id: uuid.UUID
    run_at: datetime
    lookback_days: int
    conversions_considered: int
    households_reached: int
    households_converting: int
    spend: list[SpendOut]
    figures: list[FigureOut]
    by_io: list[IoSplitOut] = Field(description="each IO's attributed conversions under the default model")
    models: list[ModelOut] = Field(description="every model of the campaign side by side (point figures)")
    interval: IntervalOut


class MethodologySection(BaseModel):
    heading: str
    text: str


class ReportOut(BaseModel):
    campaign: CampaignRef
    sponsor: SponsorRef
    seller: str = Field(description="the workspace that sells the campaign")
    as_of: date = Field(description="the report day (UTC): delivery and attribution as of its end")
    period: PeriodOut
    delivery: DeliveryOut | None = Field(description="null when delivery is not available to the reader")
    attribution: AttributionOut | None = Field(description="null before the first calculation, or when off")
    notes: list[str] = Field(description="why a section is missing, when one is")
    methodology: list[MethodologySection]


class ShareLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    expires_in_days: int = Field(DEFAULT_LINK_DAYS, ge=1, le=MAX_LINK_DAYS, description="the link works this long")
    label: str = Field("", max_length=200, description="who the link is for, e.g. 'Acme marketing team'")


class ShareLinkOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    label: str
    status: LinkStatus
    created_at: datetime
    created_by: uuid.UUID | None
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    views: int = Field(description="times the shared page was opened")
    last_viewed_at: datetime | None

    @classmethod
    def of(cls, link: CampaignShareLink, now: datetime) -> ShareLinkOut:
        return cls.model_validate({**cls.fields_of(link), "status": link_status(link, now)})

    @staticmethod
    def fields_of(link: CampaignShareLink) -> dict[str, object]:
        return {
            "id": link.id,
            "campaign_id": link.campaign_id,
            "label": link.label,
            "created_at": link.created_at,
            "created_by": link.created_by,
            "expires_at": link.expires_at,
            "revoked_at": link.revoked_at,
            "revoked_by": link.revoked_by,
            "views": link.views,
            "last_viewed_at": link.last_viewed_at,
        }


class ShareLinkCreatedOut(ShareLinkOut):
    url: str = Field(description="the link to send: shown this once, never stored")

    @classmethod
    def created(cls, link: CampaignShareLink, url: str, now: datetime) -> ShareLinkCreatedOut:
        return cls.model_validate({**cls.fields_of(link), "status": link_status(link, now), "url": url})


def link_status(link: CampaignShareLink, now: datetime) -> LinkStatus:
    """Withdrawn wins over expired: a sponsor told "withdrawn" learns why the link stopped working."""
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= now else "active"
