"""Matchmaking over the API: ranked matches with their signals and rationale, runs with progress, and briefs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from podsponsor.matching.models import Match, MatchBrief, MatchRun
from podsponsor.matching.service import RankedMatch

Position = Literal["pre", "mid", "post"]


class SignalOut(BaseModel):
    value: float | None = Field(description="0-1; null when the signal's data is missing")
    weight: float | None = Field(description="the workspace's weight; null when missing (dropped from the score)")
    inputs: dict[str, Any] = Field(default_factory=dict, description="what the value was computed from")
    missing: str | None = Field(None, description="why the signal could not be computed")


class MatchOut(BaseModel):
    sponsor_id: uuid.UUID
    podcast_id: uuid.UUID
    score: float = Field(description="0-100: weighted mean of the present signals, capped by a hard conflict")
    rationale: str
    signals: dict[str, SignalOut]
    missing: list[str]
    conflict: str | None
    computed_at: datetime

    @classmethod
    def of(cls, match: Match) -> MatchOut:
        return cls(
            sponsor_id=match.sponsor_id,
            podcast_id=match.podcast_id,
            score=float(match.score),
            rationale=match.rationale,
            signals={name: SignalOut(**value) for name, value in match.signals.items()},
            missing=list(match.missing),
            conflict=match.conflict,
            computed_at=match.computed_at,
        )


class RankedMatchOut(MatchOut):
    sponsor_name: str
    industry: str
    podcast_title: str
    categories: list[str]
    open_slots: int | None = Field(None, description="open slots in the asked-for flight, when filtered by one")

    @classmethod
    def of_ranked(cls, found: RankedMatch) -> RankedMatchOut:
        return cls(
            sponsor_id=found.sponsor_id,
            podcast_id=found.podcast_id,
            score=found.score,
            rationale=found.rationale,
            signals={name: SignalOut(**value) for name, value in found.signals.items()},
            missing=found.missing,
            conflict=found.conflict,
            computed_at=found.computed_at,
            sponsor_name=found.sponsor_name,
            industry=found.industry,
            podcast_title=found.podcast_title,
            categories=found.categories,
            open_slots=found.open_slots,
        )


class MatchPage(BaseModel):
    items: list[RankedMatchOut]
    total: int
    limit: int
    offset: int


class RunOut(BaseModel):
    id: uuid.UUID
    scope: str
    sponsor_id: uuid.UUID | None
    podcast_id: uuid.UUID | None
    status: str
    pairs_total: int
    pairs_scored: int
    pairs_stored: int
    progress: float | None = Field(description="share of pairs scored, 0-1")
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: MatchRun) -> RunOut:
        progress = run.pairs_scored / run.pairs_total if run.pairs_total else None
        if run.status == "completed":
            progress = 1.0
        return cls(
            id=run.id,
            scope=run.scope,
            sponsor_id=run.sponsor_id,
            podcast_id=run.podcast_id,
            status=run.status,
            pairs_total=run.pairs_total,
            pairs_scored=run.pairs_scored,
            pairs_stored=run.pairs_stored,
            progress=progress,
            error=run.error,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


class BriefIn(BaseModel):
    """What the advertiser wants to buy. Every field is set; one left out is cleared."""

    model_config = ConfigDict(extra="forbid")

    flight_start: date | None = None
    flight_end: date | None = None
    positions: list[Position] = Field(default_factory=list, max_length=3)
    slots_needed: int | None = Field(None, ge=1, le=10_000, strict=True)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    blocked_categories: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _flight(self) -> BriefIn:
        if (self.flight_start is None) != (self.flight_end is None):
            raise ValueError("flight_start and flight_end go together")
        if self.flight_start and self.flight_end and self.flight_end < self.flight_start:
            raise ValueError("flight_end is before flight_start")
        for word in (*self.keywords, *self.blocked_categories):
            if not word.strip() or len(word) > 100:
                raise ValueError("keywords and categories are 1-100 characters")
        return self

    def values(self) -> dict[str, Any]:
        data = self.model_dump()
        data["positions"] = list(dict.fromkeys(self.positions))
        data["keywords"] = list(dict.fromkeys(w.strip() for w in self.keywords))
        data["blocked_categories"] = list(dict.fromkeys(w.strip() for w in self.blocked_categories))
        return data


class BriefOut(BaseModel):
    sponsor_id: uuid.UUID
    flight_start: date | None
    flight_end: date | None
    positions: list[str]
    slots_needed: int | None
    keywords: list[str]
    blocked_categories: list[str]
    updated_at: datetime | None

    @classmethod
    def of(cls, sponsor_id: uuid.UUID, brief: MatchBrief | None) -> BriefOut:
        if brief is None:
            return cls(
                sponsor_id=sponsor_id,
                flight_start=None,
                flight_end=None,
                positions=[],
                slots_needed=None,
                keywords=[],
                blocked_categories=[],
                updated_at=None,
            )
        return cls(
            sponsor_id=sponsor_id,
            flight_start=brief.flight_start,
            flight_end=brief.flight_end,
            positions=list(brief.positions),
            slots_needed=brief.slots_needed,
            keywords=list(brief.keywords),
            blocked_categories=list(brief.blocked_categories),
            updated_at=brief.updated_at,
        )
