"""Output of the inventory calendar."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from podsponsor.bookings.inventory import Inventory


class SlotOut(BaseModel):
    ad_unit_id: uuid.UUID
    booked: bool
    io_id: uuid.UUID | None = None
    io_number: str | None = None
    sponsor: str | None = Field(None, description="hidden from advertiser users unless it is their own")
    bonus: bool = False


class EpisodeSlotsOut(BaseModel):
    episode_id: uuid.UUID | None
    title: str
    day: date
    kind: str = Field(description="published, scheduled, or expected (projected from the show's cadence)")
    slots: list[SlotOut]


class FlightBookingOut(BaseModel):
    io_id: uuid.UUID
    io_number: str
    ad_unit_id: uuid.UUID
    sponsor: str | None
    flight_start: date
    flight_end: date


class WeekOut(BaseModel):
    start: date
    booked: int
    open: int = Field(description="open slots of published and scheduled episodes")
    episodes: list[EpisodeSlotsOut]
    flight_bookings: list[FlightBookingOut] = Field(description="IOs booked unassigned within a flight this week")


class InventoryOut(BaseModel):
    podcast_id: uuid.UUID
    podcast_title: str
    cadence_days: int | None = Field(description="median days between recent releases; None with fewer than two")
    sell_through: float | None = Field(description="booked share of the slots of published and scheduled episodes")
    ad_units: list[dict[str, Any]]
    weeks: list[WeekOut]

    @classmethod
    def of(cls, found: Inventory) -> InventoryOut:
        return cls(
            podcast_id=found.podcast_id,
            podcast_title=found.podcast_title,
            cadence_days=found.cadence_days,
            sell_through=found.sell_through,
            ad_units=[{**unit, "id": str(unit["id"])} for unit in found.ad_units],
            weeks=[
                WeekOut(
                    start=week.start,
                    booked=week.booked,
                    open=week.open,
                    episodes=[
                        EpisodeSlotsOut(
                            episode_id=row.episode_id,
                            title=row.title,
                            day=row.day,
                            kind=row.kind,
                            slots=[SlotOut(**vars(slot)) for slot in row.slots],
                        )
                        for row in week.episodes
                    ],
                    flight_bookings=[FlightBookingOut(**vars(booking)) for booking in week.flight_bookings],
                )
                for week in found.weeks
            ],
        )
