"""Delivery, pacing and makegoods as the API shows them. Money is integer cents in the order's currency."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from podsponsor.auth.subject import Subject
from podsponsor.bookings.delivery import HOW_COMPUTED, CampaignDelivery, IoDelivery
from podsponsor.bookings.makegoods import Settlement
from podsponsor.bookings.models import InsertionOrder, Makegood

MAX_CREDIT_CENTS = 10**15


class DailyOut(BaseModel):
    day: date
    delivered: int
    cumulative: int
    expected: int = Field(description="expected by the end of this day under the pacing mode (cumulative)")


class IoDeliverySummaryOut(BaseModel):
    io_id: uuid.UUID
    number: str
    status: str
    campaign_id: uuid.UUID
    sponsor_id: uuid.UUID
    podcast_id: uuid.UUID
    pacing_mode: str
    pricing_model: str
    currency: str
    flight_start: date
    flight_end: date
    counts_until: date = Field(description="last day whose downloads count (later than the flight end for baked-in)")
    as_of: date
    goal: int
    delivered: int
    expected: int = Field(description="impressions expected by the end of today under the pacing mode")
    pacing_pct: float | None = Field(description="delivered / expected, in percent; null before the flight")
    spend_cents: int
    spend_capped: bool = Field(description="true when the maximum spend limits the spend")
    spend_note: str | None
    max_spend_cents: int | None
    ecpm_cents: int | None = Field(
        description="spend per thousand delivered impressions; null before the first impression"
    )
    episodes_aired: int = Field(description="booked episodes released in the flight by today (flat pricing)")
    stored_delivered: int = Field(description="delivered impressions as of the last hourly refresh")
    delivery_updated_at: datetime | None

    @classmethod
    def fields_of(cls, found: IoDelivery) -> dict[str, object]:
        io = found.io
        return {
            "io_id": io.id,
            "number": io.number,
            "status": io.status,
            "campaign_id": io.campaign_id,
            "sponsor_id": io.sponsor_id,
            "podcast_id": io.podcast_id,
            "pacing_mode": io.pacing_mode,
            "pricing_model": io.pricing_model,
            "currency": io.currency,
            "flight_start": io.flight_start,
            "flight_end": io.flight_end,
            "counts_until": found.counts_until,
            "as_of": found.today,
            "goal": io.impression_goal,
            "delivered": found.delivered,
            "expected": found.expected,
            "pacing_pct": found.pacing_pct,
            "spend_cents": found.spend.cents,
            "spend_capped": found.spend.capped,
            "spend_note": found.spend.note,
            "max_spend_cents": io.max_spend_cents,
            "ecpm_cents": found.ecpm_cents,
            "episodes_aired": found.aired,
            "stored_delivered": io.delivered_impressions,
            "delivery_updated_at": io.delivery_updated_at,
        }

    @classmethod
    def of(cls, found: IoDelivery) -> IoDeliverySummaryOut:
        return cls.model_validate(cls.fields_of(found))


class IoDeliveryOut(IoDeliverySummaryOut):
    daily: list[DailyOut] = Field(description="each day from the flight start to today (or the last counting day)")
    how_computed: str = HOW_COMPUTED

    @classmethod
    def of(cls, found: IoDelivery) -> IoDeliveryOut:
        daily = [
            DailyOut(day=d.day, delivered=d.delivered, cumulative=d.cumulative, expected=d.expected)
            for d in found.daily
        ]
        return cls.model_validate({**cls.fields_of(found), "daily": daily})


class CampaignTotalsOut(BaseModel):
    goal: int
    delivered: int
    expected: int
    pacing_pct: float | None = Field(description="each started order's pacing, weighted by its goal")
    currency: str | None
    spend_cents: int | None = Field(description="null when the orders are in several currencies")
    ecpm_cents: int | None


class CampaignDeliveryOut(BaseModel):
    campaign_id: uuid.UUID
    name: str
    sponsor_id: uuid.UUID
    as_of: date
    ios: list[IoDeliverySummaryOut]
    totals: CampaignTotalsOut = Field(description="over the orders that are not cancelled")
    notes: list[str]
    how_computed: str = HOW_COMPUTED

    @classmethod
    def of(cls, found: CampaignDelivery) -> CampaignDeliveryOut:
        return cls(
            campaign_id=found.campaign_id,
            name=found.name,
            sponsor_id=found.sponsor_id,
            as_of=found.today,
            ios=[IoDeliverySummaryOut.of(d) for d in found.ios],
            totals=CampaignTotalsOut(
                goal=found.goal,
                delivered=found.delivered,
                expected=found.expected,
                pacing_pct=found.pacing_pct,
                currency=found.currency,
                spend_cents=found.spend_cents,
                ecpm_cents=found.ecpm_cents,
            ),
            notes=found.notes,
        )


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    settlement: Literal["bonus_episode", "extended_flight", "credit"]
    episode_id: uuid.UUID | None = Field(None, description="bonus_episode: an episode of the order's show")
    extended_to: date | None = Field(None, description="extended_flight: the new last day of the flight")
    credit_cents: int | None = Field(
        None, ge=0, le=MAX_CREDIT_CENTS, description="credit: the amount; default the shortfall's value"
    )
    note: str = Field("", max_length=2000, description="internal: not shown to advertiser users")

    def to_settlement(self) -> Settlement:
        return Settlement(self.settlement, self.episode_id, self.extended_to, self.credit_cents, self.note)


class MakegoodOut(BaseModel):
    id: uuid.UUID
    io_id: uuid.UUID
    io_number: str
    io_status: str
    sponsor_id: uuid.UUID
    state: Literal["open", "settled"]
    goal: int
    delivered: int
    shortfall_impressions: int
    shortfall_cents: int | None = Field(description="the shortfall's value; null for CPA orders")
    currency: str
    settlement: str | None
    bonus_episode_id: uuid.UUID | None
    extended_to: date | None
    credit_cents: int | None
    settled_at: datetime | None
    settled_by: uuid.UUID | None
    note: str
    created_at: datetime

    @classmethod
    def of(cls, makegood: Makegood, io: InsertionOrder, subject: Subject) -> MakegoodOut:
        return cls(
            id=makegood.id,
            io_id=io.id,
            io_number=io.number,
            io_status=io.status,
            sponsor_id=io.sponsor_id,
            state="settled" if makegood.settled_at is not None else "open",
            goal=makegood.goal,
            delivered=makegood.delivered,
            shortfall_impressions=makegood.shortfall_impressions,
            shortfall_cents=makegood.shortfall_cents,
            currency=io.currency,
            settlement=makegood.settlement,
            bonus_episode_id=makegood.bonus_episode_id,
            extended_to=makegood.extended_to,
            credit_cents=makegood.credit_cents,
            settled_at=makegood.settled_at,
            settled_by=makegood.settled_by,
            note="" if subject.is_advertiser else makegood.note,
            created_at=makegood.created_at,
        )
