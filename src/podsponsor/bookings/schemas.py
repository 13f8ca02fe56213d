"""Input and output of ad units and insertion orders. Money is integer cents; rules across fields are the service's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints, field_validator

from podsponsor.auth.subject import Subject
from podsponsor.bookings import codes

Position = Literal["pre", "mid", "post"]
Length = Literal[15, 30, 60, 90]
ReadType = Literal["host_read", "announcer", "produced"]
Insertion = Literal["baked_in", "dynamic"]
PricingModel = Literal["cpm", "flat", "cpa", "hybrid"]
PacingMode = Literal["even", "asap", "front_loaded"]
IoStatus = Literal["scheduled", "active", "completed", "makegood", "cancelled"]

MAX_RATE_CENTS = 100_000_000  # a million dollars per thousand or per action: far beyond any rate, inside INTEGER
MAX_TOTAL_CENTS = 10**15  # as campaign values: inside BIGINT
MAX_IMPRESSIONS = 10**12
MAX_EPISODES = 500

# Prices are whole cents: strict, so 12.5 or "1250" is refused rather than rounded or guessed.
RateCents = Annotated[int, Field(strict=True, ge=0, le=MAX_RATE_CENTS)]
TotalCents = Annotated[int, Field(strict=True, ge=0, le=MAX_TOTAL_CENTS)]
Impressions = Annotated[int, Field(strict=True, gt=0, le=MAX_IMPRESSIONS)]
LandingUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000, allowed_schemes=["http", "https"])]

# The default of a patch field that cannot be emptied: typed Any so the field's type can stay without None.
KEEP: Any = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AdUnitIn(Strict):
    name: str | None = Field(None, min_length=1, max_length=200, description="unset: e.g. 'Mid-roll :60 host read'")
    position: Position
    length_seconds: Length
    read_type: ReadType = "host_read"
    insertion: Insertion = "baked_in"
    rate_cpm_cents: RateCents | None = Field(None, description="unset: the default rate card for position and length")
    flat_rate_cents: TotalCents | None = Field(None, description="price of one episode, when sold flat")


class AdUnitPatch(Strict):
    """Fields left out keep their value. A field typed without `None` cannot be emptied, so null is refused."""

    name: str = Field(KEEP, min_length=1, max_length=200)
    position: Position = Field(KEEP)
    length_seconds: Length = Field(KEEP)
    read_type: ReadType = Field(KEEP)
    insertion: Insertion = Field(KEEP)
    rate_cpm_cents: RateCents = Field(KEEP)
    flat_rate_cents: TotalCents | None = None


class AdUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    podcast_id: uuid.UUID
    name: str
    position: str
    length_seconds: int
    read_type: str
    insertion: str
    rate_cpm_cents: int
    flat_rate_cents: int | None
    created_at: datetime
    updated_at: datetime


class IoFields(Strict):
    @field_validator("promo_code", mode="after", check_fields=False)
    @classmethod
    def _promo_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = codes.normalize_promo_code(value)
        if not codes.is_promo_code(code):
            raise ValueError(f"a promo code has {codes.PROMO_RULE}")
        return code

    @field_validator("vanity_slug", mode="after", check_fields=False)
    @classmethod
    def _vanity_slug(cls, value: str | None) -> str | None:
        if value is None:
            return None
        slug = codes.normalize_vanity_slug(value)
        if not codes.is_vanity_slug(slug):
            raise ValueError(f"a vanity slug has {codes.SLUG_RULE}")
        return slug

    @field_validator("episode_ids", mode="after", check_fields=False)
    @classmethod
    def _distinct(cls, value: list[uuid.UUID] | None) -> list[uuid.UUID] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class IoIn(IoFields):
    campaign_id: uuid.UUID = Field(description="the deal; its sponsor becomes the IO's sponsor")
    agency_name: str | None = Field(None, min_length=1, max_length=300)
    agency_contact: str | None = Field(None, min_length=1, max_length=320)
    podcast_id: uuid.UUID
    ad_unit_id: uuid.UUID = Field(description="an ad unit of the show")
    episode_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_EPISODES, description="empty: unassigned within the flight"
    )
    flight_start: date
    flight_end: date
    impression_goal: Impressions
    pricing_model: PricingModel
    cpm_cents: RateCents | None = Field(None, description="for cpm and hybrid")
    flat_cents: TotalCents | None = Field(None, description="per episode, for flat")
    cpa_cents: RateCents | None = Field(None, description="per action, for cpa and hybrid")
    max_spend_cents: TotalCents | None = None
    pacing_mode: PacingMode = "even"
    talking_points: str = Field("", max_length=20000)
    promo_code: str | None = Field(None, max_length=200, description=codes.PROMO_RULE)
    generate_promo_code: bool = Field(False, description="make a readable, unused code (promo_code must be unset)")
    vanity_slug: str | None = Field(None, max_length=200, description=codes.SLUG_RULE + "; served at /v/{slug}")
    generate_vanity_slug: bool = Field(False, description="make an unused slug from the sponsor's name")
    landing_url: LandingUrl | None = Field(None, description="where the vanity URL sends listeners (http or https)")
    exclusivity: bool = Field(True, description="the sponsor asked for competitive exclusivity")
    separation_waived: bool = Field(False, description="may share an episode with a same-industry sponsor")
    makegood_terms: str = Field("", max_length=20000)
    notes: str = Field("", max_length=20000, description="internal: never shown to advertiser users")


class IoPatch(IoFields):
    """Fields left out keep their value. While an IO is active only some fields may change; once it is completed,
    in makegood or cancelled, none."""

    campaign_id: uuid.UUID = Field(KEEP)
    agency_name: str | None = Field(None, min_length=1, max_length=300)
    agency_contact: str | None = Field(None, min_length=1, max_length=320)
    podcast_id: uuid.UUID = Field(KEEP)
    ad_unit_id: uuid.UUID = Field(KEEP)
    episode_ids: list[uuid.UUID] = Field(KEEP, max_length=MAX_EPISODES)
    flight_start: date = Field(KEEP)
    flight_end: date = Field(KEEP)
    impression_goal: Impressions = Field(KEEP)
    pricing_model: PricingModel = Field(KEEP)
    cpm_cents: RateCents | None = None
    flat_cents: TotalCents | None = None
    cpa_cents: RateCents | None = None
    max_spend_cents: TotalCents | None = None
    pacing_mode: PacingMode = Field(KEEP)
    talking_points: str = Field(KEEP, max_length=20000)
    promo_code: str | None = Field(None, max_length=200)
    generate_promo_code: bool = False
    vanity_slug: str | None = Field(None, max_length=200)
    generate_vanity_slug: bool = False
    landing_url: LandingUrl | None = None
    exclusivity: bool = Field(KEEP)
    separation_waived: bool = Field(KEEP)
    makegood_terms: str = Field(KEEP, max_length=20000)
    notes: str = Field(KEEP, max_length=20000)


class PlacementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    episode_id: uuid.UUID
    ad_unit_id: uuid.UUID
    bonus: bool = Field(description="added as a makegood, beyond what was sold")


class IoOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    status: IoStatus
    status_changed_at: datetime
    campaign_id: uuid.UUID
    sponsor_id: uuid.UUID
    agency_name: str | None
    agency_contact: str | None
    podcast_id: uuid.UUID
    ad_unit_id: uuid.UUID
    episode_ids: list[uuid.UUID] = Field(description="the episodes sold; empty: unassigned within the flight")
    placements: list[PlacementOut]
    flight_start: date
    flight_end: date
    impression_goal: int
    pricing_model: PricingModel
    cpm_cents: int | None
    flat_cents: int | None
    cpa_cents: int | None
    max_spend_cents: int | None
    currency: str
    pacing_mode: PacingMode
    talking_points: str
    promo_code: str | None
    vanity_slug: str | None
    landing_url: str | None
    exclusivity: bool
    separation_waived: bool
    makegood_terms: str
    delivered_impressions: int
    delivery_updated_at: datetime | None
    notes: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, booking: Any, subject: Subject) -> IoOut:
        """`booking`: a service `Booking` (the order and its placements)."""
        io = booking.io
        values = {name: getattr(io, name) for name in cls.model_fields if hasattr(io, name)}
        values["episode_ids"] = booking.episode_ids
        values["placements"] = [PlacementOut.model_validate(p) for p in booking.placements]
        if subject.is_advertiser:
            values["notes"] = ""
        return cls.model_validate(values)


@dataclass(frozen=True)
class IoQuery:
    """Which orders to list. The flight filter keeps orders whose flight overlaps [start, end] (either may be open)."""

    statuses: Sequence[str] = ()
    sponsor_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    podcast_id: uuid.UUID | None = None
    start: date | None = None
    end: date | None = None


def plain(data: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    """Input as column values: URLs become strings."""
    values = data.model_dump(exclude_unset=exclude_unset)
    return {k: str(v) if isinstance(v, AnyHttpUrl) else v for k, v in values.items()}
