"""A workspace's matchmaking settings, kept in `tenants.settings["matching"]`: the weight of each signal, the cap a
hard conflict puts on a score, how strongly historical lift is pulled toward the advertiser's average, and how many
matches a whole-workspace recalculation keeps per advertiser and per show.

A stored value that is missing or out of range reads as its default, so a hand-edited row cannot break scoring.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import service as auth
from podsponsor.auth.subject import Subject
from podsponsor.events import service as events

SETTINGS_KEY: Final = "matching"
SIGNALS: Final = ("geo", "demographic", "topic", "lift", "inventory", "brand_safety")
SIGNAL_NAMES: Final = {
    "geo": "geo overlap",
    "demographic": "demographic overlap",
    "topic": "topic overlap",
    "lift": "historical lift",
    "inventory": "inventory fit",
    "brand_safety": "brand safety",
}
DEFAULT_WEIGHTS: Final = {
    "geo": 0.2,
    "demographic": 0.15,
    "topic": 0.25,
    "lift": 0.2,
    "inventory": 0.1,
    "brand_safety": 0.1,
}
DEFAULT_CONFLICT_CAP: Final = 20
# Impressions' worth of the advertiser's own average that a show's attributed rate is blended with: a show needs
# about this many delivered impressions before its own rate counts as much as the average.
DEFAULT_PRIOR_IMPRESSIONS: Final = 50_000
DEFAULT_KEEP: Final = 50


@dataclass(frozen=True)
class MatchSettings:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    conflict_cap: int = DEFAULT_CONFLICT_CAP
    prior_impressions: int = DEFAULT_PRIOR_IMPRESSIONS
    keep_per_entity: int = DEFAULT_KEEP


async def match_settings(session: AsyncSession, tenant_id: uuid.UUID) -> MatchSettings:
    tenant = await auth.get_tenant(session, tenant_id)
    return _read((tenant.settings or {}).get(SETTINGS_KEY) or {})


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
        return float(value)
    return None


def _read(stored: dict[str, Any]) -> MatchSettings:
    raw = stored.get("weights")
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    weights = {name: _number(given.get(name), 0, 100) for name in SIGNALS}
    usable = {name: w for name, w in weights.items() if w is not None}
    cap = _number(stored.get("conflict_cap"), 0, 100)
    prior = _number(stored.get("prior_impressions"), 0, 100_000_000)
    keep = _number(stored.get("keep_per_entity"), 1, 10_000)
    return MatchSettings(
        weights={name: usable.get(name, DEFAULT_WEIGHTS[name]) for name in SIGNALS}
        if sum(usable.values()) > 0
        else dict(DEFAULT_WEIGHTS),
        conflict_cap=int(cap) if cap is not None else DEFAULT_CONFLICT_CAP,
        prior_impressions=int(prior) if prior is not None else DEFAULT_PRIOR_IMPRESSIONS,
        keep_per_entity=int(keep) if keep is not None else DEFAULT_KEEP,
    )


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geo: float = Field(DEFAULT_WEIGHTS["geo"], ge=0, le=100, allow_inf_nan=False)
    demographic: float = Field(DEFAULT_WEIGHTS["demographic"], ge=0, le=100, allow_inf_nan=False)
    topic: float = Field(DEFAULT_WEIGHTS["topic"], ge=0, le=100, allow_inf_nan=False)
    lift: float = Field(DEFAULT_WEIGHTS["lift"], ge=0, le=100, allow_inf_nan=False)
    inventory: float = Field(DEFAULT_WEIGHTS["inventory"], ge=0, le=100, allow_inf_nan=False)
    brand_safety: float = Field(DEFAULT_WEIGHTS["brand_safety"], ge=0, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one signal needs a weight above 0")
        return self


class MatchSettingsIn(BaseModel):
    """Fields left out keep their value. Weights are relative: only their ratios matter."""

    model_config = ConfigDict(extra="forbid")

    weights: Weights | None = None
    conflict_cap: int | None = Field(None, ge=0, le=100, strict=True)
    prior_impressions: int | None = Field(None, ge=0, le=100_000_000, strict=True)
    keep_per_entity: int | None = Field(None, ge=1, le=10_000, strict=True)


class MatchSettingsOut(BaseModel):
    weights: dict[str, float]
    conflict_cap: int = Field(description="the highest score a pair with a hard conflict can have")
    prior_impressions: int = Field(description="impressions' worth of the average that historical lift is shrunk to")
    keep_per_entity: int = Field(description="matches a whole-workspace recalculation keeps per advertiser and show")

    @classmethod
    def of(cls, settings: MatchSettings) -> MatchSettingsOut:
        return cls(
            weights=settings.weights,
            conflict_cap=settings.conflict_cap,
            prior_impressions=settings.prior_impressions,
            keep_per_entity=settings.keep_per_entity,
        )


async def update_settings(session: AsyncSession, subject: Subject, data: MatchSettingsIn) -> MatchSettings:
    """Change the workspace's matchmaking settings; stored matches keep their scores until recalculated."""
    tenant = await auth.get_tenant(session, subject.tenant_id)
    current = (tenant.settings or {}).get(SETTINGS_KEY) or {}
    before = MatchSettingsOut.of(_read(current)).model_dump()
    after = {**before, **data.model_dump(exclude_none=True)}
    updated = _read(after)
    stored = MatchSettingsOut.of(updated).model_dump()
    changed = sorted(name for name in stored if stored[name] != before[name])
    if changed:
        tenant.settings = {**(tenant.settings or {}), SETTINGS_KEY: {**current, **stored}}
        await session.flush()
        await events.record(
            session,
            subject,
            "match.settings_changed",
            subject_type="tenant",
            subject_id=subject.tenant_id,
            payload={
                "fields": changed,
                "before": {n: before[n] for n in changed},
                "after": {n: stored[n] for n in changed},
            },
        )
    return updated
