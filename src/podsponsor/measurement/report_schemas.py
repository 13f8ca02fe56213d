"""Input and output of the audience-number, audit and counting endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

WindowName = Literal["calendar_day", "first_touch_24h", "extending_24h"]


class DownloadRowOut(BaseModel):
    day: date | None = None
    podcast_id: uuid.UUID | None = None
    episode_id: uuid.UUID | None = None
    source_kind: str | None = None
    app: str | None = None
    device: str | None = None
    country: str | None = None
    downloads: int = Field(description="IAB v2.3 downloads")
    listeners: int = Field(description="distinct listeners (address + user agent) within this row")
    raw_requests: int | None = Field(
        description="every request recorded, before filtering; null when grouped by app, device or country"
    )


class ReasonOut(BaseModel):
    reason: str
    requests: int


class DownloadsOut(BaseModel):
    by: list[str]
    start: date
    end: date
    window_types: list[str] = Field(description="the window type(s) the days in range were counted under")
    total_downloads: int
    total_raw_requests: int
    reasons: list[ReasonOut] = Field(description="every request in range by the reason it got, most first")
    rows: list[DownloadRowOut]
    how_computed: str


class ListenersRowOut(BaseModel):
    period_start: date
    listeners: int


class ListenersOut(BaseModel):
    period: str
    start: date
    end: date
    rows: list[ListenersRowOut]
    how_computed: str = "distinct listener keys (keyed address hash + user agent) with a download in the period"


class EpisodeAgesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    episode_id: uuid.UUID
    title: str
    podcast_id: uuid.UUID
    published_at: datetime
    at_age: dict[int, int | None] = Field(
        description="downloads in the first N UTC days (release day = day 1); null until day N has ended"
    )
    so_far: int = Field(description="downloads in the first 90 days, so far")
    pacing: list[int] = Field(description="cumulative downloads by day of age 0..29, for the days that have ended")


class CountRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    day: date
    status: str
    trigger: str
    window_type: str
    settings: dict[str, Any]
    list_versions: dict[str, Any]
    lists_missing: list[str]
    requests_read: int
    requests_on_day: int
    downloads: int
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None


class RecountIn(BaseModel):
    start: date
    end: date | None = Field(None, description="defaults to start; at most 92 days")


class RecountOut(BaseModel):
    queued: int = Field(description="count jobs queued (days already waiting are not queued twice)")
    days: list[date]


class CountingSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: WindowName | None = None
    ip_volume_limit: int | None = Field(None, ge=1, le=1_000_000)
    header_bytes: int | None = Field(None, ge=0, le=50_000_000)


class CountingSettingsOut(BaseModel):
    window: str
    ip_volume_limit: int
    header_bytes: int


class ExplanationOut(BaseModel):
    hit_id: str
    day: date
    counted: bool
    reason: str
    sentence: str
    window: str
    run_id: uuid.UUID | None
    list_versions: dict[str, Any]
    request: dict[str, Any]
