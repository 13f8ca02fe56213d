"""The dashboards as the API shows them: a dashboard is a list of cards, and every number on a card says how it was
computed, on the figure itself, on its series or on its table column.

Money is integer cents with its currency beside it; percentages are 0 to 100 with one decimal; days are UTC.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

DashboardKind = Literal["creator", "advertiser", "ops"]
Unit = Literal[
    "count",
    "downloads",
    "impressions",
    "percent",
    "cents",
    "cpm_cents",
    "ratio",
    "days",
    "bytes",
    "date",
    "datetime",
    "text",
]
Value = int | float | str | None


class Figure(BaseModel):
    """One headline number."""

    label: str
    value: Value = Field(description="null when it cannot be computed yet; the note says why")
    unit: Unit
    currency: str | None = Field(None, description="ISO 4217, for cents and cpm_cents")
    low: float | None = Field(None, description="lower end of the 95 % interval, where the number has one")
    high: float | None = Field(None, description="upper end of the 95 % interval, where the number has one")
    note: str = Field(description="how the number is computed")


class Point(BaseModel):
    x: str = Field(description="an ISO day (YYYY-MM-DD), a month (YYYY-MM) or a day of age ('0', '1', …)")
    y: int | float | None


class Series(BaseModel):
    """A line or bar series; `group` ties series that belong together (one IO's delivered and expected)."""

    key: str
    label: str
    unit: Unit
    currency: str | None = None
    group: str | None = Field(None, description="e.g. the IO or episode id the series belongs to")
    note: str = Field(description="how each point is computed")
    points: list[Point]


class Column(BaseModel):
    key: str
    label: str
    unit: Unit
    note: str = Field("", description="how the column's numbers are computed (empty for names and ids)")


class Table(BaseModel):
    key: str
    label: str
    columns: list[Column]
    rows: list[dict[str, Value]] = Field(description="one object per row, keyed by the columns' keys")
    total_rows: int = Field(description="rows before any cap; more than len(rows) when the table was cut")


class Card(BaseModel):
    id: str = Field(description="stable card id, e.g. 'pacing', 'downloads_trend'")
    title: str
    note: str = Field(description="what the card shows and over which days")
    available: bool = Field(True, description="false when the card's feature is off or its data does not exist yet")
    notices: list[str] = Field(default_factory=list, description="what a reader should know: gaps, caps, states")
    figures: list[Figure] = Field(default_factory=list)
    series: list[Series] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)


class Dashboard(BaseModel):
    dashboard: DashboardKind
    start: date = Field(description="first UTC day of the period (the `from` parameter)")
    end: date = Field(description="last UTC day of the period (the `to` parameter)")
    as_of: date = Field(description="the day numbers 'to date' are taken at: the earlier of `end` and today")
    sponsor_id: uuid.UUID | None = Field(None, description="the advertiser the dashboard is for (advertiser only)")
    generated_at: datetime
    cards: list[Card]

    def card(self, card_id: str) -> Card:
        return next(card for card in self.cards if card.id == card_id)
